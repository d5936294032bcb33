"""Quality evaluation of swap engines on the shared videos: identity, expression, overlap, stability, speed."""

from faceswap_live.eval.run import DEFAULT_PAIRS, EvalPair, EvalReport, PairResult, format_report, run_eval

__all__ = ["DEFAULT_PAIRS", "EvalPair", "EvalReport", "PairResult", "format_report", "run_eval"]
