"""Readable descriptions of models from their manifests alone (TensorFlow is not loaded): ``mt-predict
--list-models``."""
from __future__ import annotations


def _metrics_text(values: dict) -> str:
    from .metrics import metrics_text

    return metrics_text(values, ("auc", "aupr", "f1", "mcc", "sensitivity", "specificity"))


def _members_text(training: dict) -> str:
    text = ""
    weight = training.get("kmer_weight")
    if weight:
        features = "k-mer + structure/free-energy" if training.get("energy") else "k-mer"
        text += f" + {features} logistic regression (weight {weight:g})"
    trees = training.get("tree_weight")
    if trees:
        shape = training.get("trees", {})
        text += (f" + {shape.get('trees', '?')} boosted trees of depth {shape.get('depth', '?')} "
                 f"(weight {trees:g}{', chosen on out-of-fold AUC' if training.get('tree_weight_auto') else ''})")
    return text


def model_listing(models: dict) -> str:
    """Readable description of each bundled model, from its manifest only (TensorFlow is not loaded)."""
    from .errors import MirtronError
    from .io.model import DEFAULT_MODEL, read_manifest

    if not models:
        return "no bundled models are installed\n"
    lines = []
    for name in sorted(models):
        path = models[name]
        lines.append(name + (" (default)" if name == DEFAULT_MODEL else ""))
        try:
            manifest = read_manifest(path)
        except MirtronError as error:
            lines.extend([f"  unusable: {error}", ""])
            continue
        data = manifest.get("training_data", {})
        training = manifest.get("training", {})
        members = training.get("ensemble_members", 1)
        lines.append(f"  task:          {manifest.get('task', '?')} (positive class: "
                     f"{manifest.get('positive_class', '?')})")
        sources = data.get("sources", {})
        described = manifest.get("description") or "; ".join(
            f"{key}: {', '.join(value) if isinstance(value, list) else value}" for key, value in sources.items())
        lines.append(f"  training data: {described or '?'}")
        lines.append(f"                 {data.get('n_positive', '?')} positive / {data.get('n_negative', '?')} "
                     f"negative, sha256 {str(data.get('sha256', '?'))[:16]}")
        lines.append(f"  created:       {manifest.get('created', '?')}, seed {manifest.get('seed')}, "
                     f"{'ensemble of ' + str(members) + ' networks' if members and members > 1 else 'one network'}"
                     f"{_members_text(training)}, "
                     f"mirtron_tools {manifest.get('versions', {}).get('mirtron_tools', '?')}")
        if training.get("energy"):
            lines.append("  inputs:        sequence, structure and minimum free energy per nt")
        if isinstance(manifest.get("reads"), dict):
            lines.append("  reads:         small-RNA-seq read signatures (mt-coverage) added to the sequence model's "
                         "prior as a log-likelihood ratio (mt-predict --coverage)")
        lines.append(f"  threshold:     {float(manifest.get('threshold', float('nan'))):.4f}")
        if isinstance(manifest.get("prior"), (int, float)):
            chosen_at = manifest.get("threshold_prior", manifest["prior"])
            lines.append(f"  prior:         {manifest['prior']:.4g} (threshold chosen at a share of {chosen_at:.4g} "
                         "positives; mt-predict --prior re-weights)")
        if isinstance(manifest.get("training_lengths"), dict):
            lines.append(f"  lengths:       {manifest['training_lengths'].get('min')}-"
                         f"{manifest['training_lengths'].get('max')} nt in training")
        for split, values in manifest.get("metrics", {}).items():
            lines.append(f"  metrics ({split}): {_metrics_text(values)}")
        for part, values in manifest.get("member_metrics", {}).items():
            lines.append(f"  {part} alone (out_of_fold, threshold {values.get('threshold', float('nan')):.4f}): "
                         f"{_metrics_text(values)}")
        for benchmark, record in manifest.get("benchmark", {}).items():
            values = record.get("all", record)
            count = f", n={record['n']}" if "n" in record else ""
            lines.append(f"  benchmark ({benchmark}{count}): {_metrics_text(values)}")
        lines.append(f"  file:          {path} ({path.stat().st_size / 1e6:.2f} MB)")
        lines.append("")
    return "\n".join(lines)
