"""The report of ``rag eval``: one markdown table of metrics (shares in %) and the set-up below it."""

from __future__ import annotations

from typing import Any


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def format_table(result: dict[str, Any]) -> str:
    """The markdown report: one table of metrics (shares in %) and the set-up below it."""
    cfg = result["config"]
    header = (
        "| retriever | R@1 | R@5 | R@10 | MRR@10 | answer in text | answer in 1st cit. | short answer "
        "| cit. per answer | cit. verbatim | abstain (answerable) | abstain P | abstain R | AUC | p50 ms "
        "| p95 ms |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for name, s in result["results"].items():
        r, a, c, ab, lat = s["retrieval"], s["answers"], s["citations"], s["abstention"], s["latency_ms"]
        lines.append(
            f"| {name} | {_pct(r['recall@1'])} | {_pct(r['recall@5'])} | {_pct(r['recall@10'])} "
            f"| {_num(r['mrr@10'])} | {_pct(a['answer_in_text'])} | {_pct(a['answer_in_first_citation'])} "
            f"| {_pct(a['short_answer'])} | {_num(c['per_answer'], 2)} | {_pct(c['verbatim'])} "
            f"| {_pct(ab['answerable_abstention'])} | {_pct(ab['precision'])} "
            f"| {_pct(ab['recall'])} | {_num(ab['auc'])} | {_num(lat['p50'], 0)} | {_num(lat['p95'], 0)} |"
        )
    na = cfg["no_answer"]
    timed = max((s["latency_ms"]["n"] for s in result["results"].values()), default=0)
    negatives = "removed-gold" + (" + unanswerable" if _has_unanswerable(result) else "")
    notes = [
        "",
        f"- model {cfg['model_id']}, composer {cfg.get('composer', '?')}, k={cfg['k']}; "
        + (f"the {cfg['half']} half: " if cfg.get("half") else "")
        + f"{cfg['questions']} questions "
        f"({cfg['answerable']} answerable) over {cfg['contexts']} contexts"
        + (f" + distractors from {cfg['distractors']}" if cfg["distractors"] else "")
        + f" = {cfg['documents_full']} documents, {cfg['chunks_full']} chunks; shares in %.",
        f"- no-answer simulation: seed {na['seed']}, {na['contexts_removed']} contexts left out, "
        f"{na['questions_removed']} questions asked again without them; abstain P/R/AUC: answerable vs "
        f"{negatives} questions; engine threshold {_thresholds_text(cfg['threshold'])}.",
        f"- latency: {timed} full-index questions per retriever, timed without the embedding cache "
        f"(load average 1/5/15 min at the end: {cfg.get('load_average', '?')}).",
    ]
    for name, s in result["results"].items():
        languages = s.get("by_language", {})
        if len(languages) > 1:
            notes.append(
                f"- {name}, answerable questions by language: "
                + "; ".join(
                    f"{lang} ({g['answerable']}): R@1 {_pct(g['recall@1'])}, answer in text "
                    f"{_pct(g['answer_in_text'])}, in 1st cit. {_pct(g['answer_in_first_citation'])}, "
                    f"abstain {_pct(g['answerable_abstention'])}"
                    for lang, g in languages.items()
                )
                + "."
            )
    for name, s in result["results"].items():
        a, reasons = s["answers"], s["abstention"]["by_reason"]
        notes.append(
            f"- {name}: short answer (exactly the gold answer, or holding it within 3 words) on "
            f"{s['questions']['typed']} answerable questions asking for a name, place, date or number; "
            f"one shown for {_pct(a['short_answer_shown'])} % of them, right for "
            f"{_pct(a['short_answer_precision'])} % of those shown; no-answer "
            f"questions abstained on as not found {reasons['not_found']}, as detail missing "
            f"{reasons['detail_missing']}."
        )
    for name, s in result["results"].items():
        g, n = s["abstention"]["sentence_gone"], s["questions"]["sentence_gone"]
        if n:
            notes.append(
                f"- {name}: {n} sentence-gone questions (a removed context's first question, asked over "
                f"the context without its answer's sentence): abstained on {_pct(g['abstained'])} %, as "
                f"detail missing {_pct(g['detail_missing'])} %; gold answer in the answer anyway "
                f"{_pct(g['answer_found'])} %."
            )
    for name, s in result["results"].items():
        at = s["abstention"]["at_max_5pct"]
        if at is not None:
            notes.append(
                f"- {name}: threshold {at['threshold']:.3f} keeps abstention on answerable at "
                f"{_pct(at['answerable_abstention'])} % -> on no-answer questions "
                f"P {_pct(at['precision'])} %, R {_pct(at['recall'])} %."
            )
    return "\n".join(lines + notes)


def _thresholds_text(thresholds: dict[str, float]) -> str:
    text = f"{thresholds['same_language']:.3f}"
    cross = thresholds.get("cross_language")
    if cross is not None and cross != thresholds["same_language"]:
        text += f" ({cross:.3f} for cross-language questions)"
    return text


def _has_unanswerable(result: dict[str, Any]) -> bool:
    return any(s["questions"]["unanswerable"] for s in result["results"].values())
