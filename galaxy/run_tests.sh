#!/usr/bin/env bash
# Test the Galaxy wrappers and the workflow against a real Galaxy server, offline.
#
#   galaxy/run_tests.sh [--keep] [--lint-only] [TOOL.xml|WORKFLOW.ga ...]   (default: every tool and workflow)
#
# 1. Galaxy (PyPI, pinned below) and planemo each get their own virtual environment under
#    ${MIRTRON_GALAXY_CACHE:-~/.cache/mirtron_tools}: made once, reused afterwards. Neither
#    touches the project's virtual environment.
# 2. A throw-away Galaxy (sqlite, conda off, an admin API key, local job runner) starts on
#    127.0.0.1 with uvicorn, its toolbox = the upload tool + every galaxy/*.xml tool.
#    The project's mt-* commands reach its jobs through a folder of links put first on the job
#    PATH (not the project venv's bin: its python would shadow Galaxy's in the upload tool).
# 0. planemo lint --skip BioToolsValid galaxy/ (bio.tools needs the network) and planemo
#    workflow_lint galaxy/workflows/; --lint-only stops there.
# 3. planemo test --engine external_galaxy runs every tool test and the workflow test.
# 4. Galaxy is stopped and its folder removed (--keep keeps it, to read job outputs and logs).
# Exits non-zero when Galaxy does not start or a test fails. Needs: python3 (>= 3.10) with venv,
# the project installed (MIRTRON_BIN, default: the folder of the mt-encode on PATH).
set -euo pipefail

GALAXY_VERSION=26.1.2
PLANEMO_VERSION=0.75.47
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${MIRTRON_GALAXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mirtron_tools}
KEEP=0
LINT_ONLY=0
while [[ ${1:-} == --* ]]; do
    case $1 in
        --keep) KEEP=1 ;;
        --lint-only) LINT_ONLY=1 ;;
        *) echo "usage: galaxy/run_tests.sh [--keep] [--lint-only] [TOOL.xml|WORKFLOW.ga ...]" >&2; exit 2 ;;
    esac
    shift
done

say() { printf 'run_tests.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }


# --- 1. virtual environments (once) -----------------------------------------------------------
mkdir -p "$CACHE"
GALAXY_VENV=$CACHE/galaxy-$GALAXY_VERSION
PLANEMO_VENV=$CACHE/planemo-$PLANEMO_VERSION
if [[ ! -x $GALAXY_VENV/bin/uvicorn || ! -f $GALAXY_VENV/.complete ]]; then
    say "installing Galaxy $GALAXY_VERSION into $GALAXY_VENV (once; a few minutes)"
    rm -rf "$GALAXY_VENV"
    python3 -m venv "$GALAXY_VENV"
    "$GALAXY_VENV/bin/pip" install --quiet --upgrade pip
    # The galaxy metapackage pins every dependency exactly; one pin (certifi 2026.10.19) was
    # withdrawn from PyPI in favour of a .post1 release. Install the pinned set with that one
    # pin moved to the .post1 release, then the metapackage itself without resolving again.
    requirements=$(mktemp -d)
    "$GALAXY_VENV/bin/pip" download --quiet --no-deps --dest "$requirements" "galaxy==$GALAXY_VERSION"
    "$GALAXY_VENV/bin/python" - "$requirements" <<'EOF'
import pathlib, re, sys, zipfile
folder = pathlib.Path(sys.argv[1])
wheel = next(folder.glob("galaxy-*.whl"))
with zipfile.ZipFile(wheel) as archive:
    metadata = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
    lines = archive.read(metadata).decode().splitlines()
pins = [line.split(": ", 1)[1] for line in lines if line.startswith("Requires-Dist: ") and "extra ==" not in line]
pins = [re.sub(r"^certifi==2026\.10\.19(?=$|;)", "certifi==2026.10.19.post1", pin) for pin in pins]
(folder / "requirements.txt").write_text("\n".join(pins) + "\n")
EOF
    "$GALAXY_VENV/bin/pip" install --quiet -r "$requirements/requirements.txt" uvicorn
    "$GALAXY_VENV/bin/pip" install --quiet --no-deps "$requirements"/galaxy-*.whl
    rm -rf "$requirements"
    touch "$GALAXY_VENV/.complete"
fi
if [[ ! -x $PLANEMO_VENV/bin/planemo ]]; then
    say "installing planemo $PLANEMO_VERSION into $PLANEMO_VENV (once)"
    rm -rf "$PLANEMO_VENV"
    python3 -m venv "$PLANEMO_VENV"
    "$PLANEMO_VENV/bin/pip" install --quiet "planemo==$PLANEMO_VERSION"
fi

# --- lint ---------------------------------------------------------------------------------------
say "planemo lint --skip BioToolsValid galaxy/"
"$PLANEMO_VENV/bin/planemo" lint --skip BioToolsValid --fail_level warn "$ROOT/galaxy" || die "planemo lint failed"
"$PLANEMO_VENV/bin/planemo" workflow_lint --fail_level warn "$ROOT/galaxy/workflows" || die "planemo workflow_lint failed"
if [[ $LINT_ONLY == 1 ]]; then exit 0; fi

MIRTRON_BIN=${MIRTRON_BIN:-}
if [[ -z $MIRTRON_BIN ]]; then
    command -v mt-encode >/dev/null || die "mt-encode is not on PATH: install the project (or set MIRTRON_BIN)"
    MIRTRON_BIN=$(dirname "$(command -v mt-encode)")
fi
[[ -x $MIRTRON_BIN/mt-encode ]] || die "$MIRTRON_BIN/mt-encode is not an executable"
MIRTRON_BIN=$(cd "$MIRTRON_BIN" && pwd)  # the links must not be relative

# --- 2. a throw-away Galaxy -------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mirtron_galaxy.XXXXXX")
GALAXY_PID=
cleanup() {
    local status=$?
    if [[ -n $GALAXY_PID ]] && kill -0 "$GALAXY_PID" 2>/dev/null; then
        kill "$GALAXY_PID" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$GALAXY_PID" 2>/dev/null || break; sleep 1; done
        kill -9 "$GALAXY_PID" 2>/dev/null || true
    fi
    if [[ $KEEP == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$("$GALAXY_VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
ADMIN_KEY=$("$GALAXY_VENV/bin/python" -c 'import secrets; print(secrets.token_hex(16))')
ID_SECRET=$("$GALAXY_VENV/bin/python" -c 'import secrets; print(secrets.token_hex(16))')
GALAXY_PACKAGE=$("$GALAXY_VENV/bin/python" -c 'import galaxy, os; print(os.path.dirname(galaxy.__file__))' 2>/dev/null ||
                 "$GALAXY_VENV/bin/python" -c 'import galaxy; print(list(galaxy.__path__)[0])')

mkdir -p "$WORK/links" "$WORK/data" "$WORK/tmp"
for command in "$MIRTRON_BIN"/mt-*; do ln -s "$command" "$WORK/links/"; done

{
    echo "<toolbox tool_path=\"$GALAXY_PACKAGE/tools/bundled\">"
    echo '  <section id="getext" name="Get Data"><tool file="data_source/upload.xml"/></section>'
    echo '  <section id="mirtron_tools" name="mirtron_tools">'
    for tool in "$ROOT"/galaxy/*.xml; do
        [[ $(basename "$tool") == macros.xml ]] || echo "    <tool file=\"$tool\"/>"
    done
    echo '  </section>'
    echo '</toolbox>'
} > "$WORK/tool_conf.xml"

cat > "$WORK/job_conf.yml" <<EOF
runners:
  local:
    load: galaxy.jobs.runners.local:LocalJobRunner
    workers: 2
execution:
  default: local
  environments:
    local:
      runner: local
      env:
        - execute: export PATH="$WORK/links:\$PATH"
        - name: GALAXY_SLOTS
          value: "2"
EOF

cat > "$WORK/galaxy.yml" <<EOF
galaxy:
  data_dir: $WORK/data
  managed_config_dir: $WORK/data/config
  database_connection: sqlite:///$WORK/data/galaxy.sqlite?isolation_level=IMMEDIATE
  database_auto_migrate: true
  file_path: $WORK/data/objects
  new_file_path: $WORK/tmp
  tool_config_file: $WORK/tool_conf.xml
  tool_data_path: $WORK/data/tool-data
  job_config_file: $WORK/job_conf.yml
  galaxy_infrastructure_url: $URL
  id_secret: $ID_SECRET
  admin_users: admin@example.org
  bootstrap_admin_api_key: $ADMIN_KEY
  allow_user_creation: true
  conda_auto_init: false
  conda_auto_install: false
  dependency_resolvers: []
  enable_celery_tasks: false
  watch_tools: 'false'
  cleanup_job: onsuccess
  interactivetools_enable: false
  check_job_script_integrity: false
  tool_test_data_directories: $ROOT/test-data
EOF

say "starting Galaxy $GALAXY_VERSION on $URL (folder $WORK)"
started=$(date +%s)
(
    cd "$WORK"
    # Jobs activate the virtual environment that Galaxy runs in, found through VIRTUAL_ENV:
    # make that Galaxy's own, even when the script is started from the project's.
    export GALAXY_CONFIG_FILE=$WORK/galaxy.yml VIRTUAL_ENV=$GALAXY_VENV PATH=$GALAXY_VENV/bin:$PATH
    exec "$GALAXY_VENV/bin/uvicorn" --factory galaxy.webapps.galaxy.fast_factory:factory \
        --host 127.0.0.1 --port "$PORT" --log-level warning
) > "$WORK/galaxy.log" 2>&1 &
GALAXY_PID=$!
answers() { "$GALAXY_VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$URL/api/version" 2>/dev/null; }
for _ in $(seq 1 600); do
    if answers; then break; fi
    kill -0 "$GALAXY_PID" 2>/dev/null || { tail -n 40 "$WORK/galaxy.log" >&2; die "Galaxy stopped while starting (log above)"; }
    sleep 1
done
answers || { tail -n 40 "$WORK/galaxy.log" >&2; die "Galaxy did not answer within 10 minutes"; }
say "Galaxy answered after $(( $(date +%s) - started )) s"

# --- 3. tool tests and workflow test ----------------------------------------------------------
USER_KEY=$(ADMIN_KEY=$ADMIN_KEY URL=$URL "$GALAXY_VENV/bin/python" - <<'EOF'
import json, os, urllib.request
url, key = os.environ["URL"], os.environ["ADMIN_KEY"]
def call(method, path, payload=None):
    request = urllib.request.Request(f"{url}/api/{path}", method=method, data=json.dumps(payload).encode() if payload else None,
                                     headers={"x-api-key": key, "content-type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)
user = call("POST", "users", {"username": "tester", "email": "tester@example.org", "password": "mirtron-tools-test"})
print(call("POST", f"users/{user['id']}/api_key"))
EOF
)
targets=("$@")
if [[ ${#targets[@]} == 0 ]]; then
    # planemo tests files, not folders: every tool, then every workflow (with its -tests.yml).
    targets=("$ROOT"/galaxy/mt_*.xml "$ROOT"/galaxy/workflows/*.ga)
fi
# Tools and workflows go to separate planemo runs: planemo 0.75 fails on its own report when one
# run mixes them.
tools=() workflows=()
for target in "${targets[@]}"; do
    case $target in
        *.ga) workflows+=("$target") ;;
        *) tools+=("$target") ;;
    esac
done
status=0
reports=()
for group in tools workflows; do
    declare -n members=$group
    [[ ${#members[@]} == 0 ]] && continue
    "$PLANEMO_VENV/bin/planemo" test --engine external_galaxy --galaxy_url "$URL" \
        --galaxy_admin_key "$ADMIN_KEY" --galaxy_user_key "$USER_KEY" --test_data "$ROOT/test-data" \
        --test_output "$WORK/$group.html" --test_output_json "$WORK/$group.json" \
        --no_conda_auto_init --test_timeout 600 "${members[@]}" || status=$?
    reports+=("$WORK/$group.json")
done
"$GALAXY_VENV/bin/python" - "${reports[@]}" <<'EOF' || status=1
import json, sys
passed = failed = 0
for report in sys.argv[1:]:
    try:
        tests = json.load(open(report))["tests"]
    except (OSError, ValueError, KeyError):
        sys.exit(f"run_tests.sh: {report}: no test report was written")
    for test in tests:
        if test["data"].get("status") == "success":
            passed += 1
        else:
            failed += 1
            print(f"run_tests.sh: {test['data'].get('status')}: {test['id']}", file=sys.stderr)
print(f"galaxy: {passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
EOF
say "finished after $(( $(date +%s) - started )) s (Galaxy start included)"
if [[ $status != 0 ]]; then
    say "planemo test failed (exit $status); Galaxy log: last lines"
    tail -n 30 "$WORK/galaxy.log" >&2
fi
exit $status
