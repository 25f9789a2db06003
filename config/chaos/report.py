"""A small self-contained HTML page: the verdict, the figures and the timeline of the run."""

from html import escape
from pathlib import Path

from config.chaos.timeline import Timeline
from config.chaos.verdict import Verdict

COLOURS = {
    "fault": "#fde2e1",
    "disruption": "#f8c9a0",
    "recovery": "#d5f0d5",
    "customer": "#e4ecfb",
    "verdict": "#eeeeee",
}


def write_report(path: Path, verdict: Verdict, timeline: Timeline) -> Path:
    figures = "".join(
        f"<tr><th>{escape(name)}</th><td>{value}</td></tr>"
        for name, value in verdict.figures.items()
    )
    moments = "".join(
        f'<tr style="background:{COLOURS.get(m.kind, "#fff")}"><td>{m.at:.1f} s</td>'
        f"<td>{escape(m.kind)}</td><td>{escape(m.text)}</td></tr>"
        for m in timeline.moments
    )
    violations = "".join(f"<li>{escape(v)}</li>" for v in verdict.violations)
    undecidable = "".join(f"<li>{escape(note)}</li>" for note in verdict.undecidable)
    word = "HOLDS" if verdict.holds else "BROKEN"
    path.write_text(
        "<!doctype html><meta charset=utf-8><title>Paycenter chaos check: "
        f"{word}</title><style>body{{font:14px sans-serif;margin:2em}}td,th{{padding:2px 8px;"
        "text-align:left}}</style>"
        f"<h1>The promise {word}</h1><ul>{violations}</ul>"
        + (f"<h2>Not yet decidable</h2><ul>{undecidable}</ul>" if undecidable else "")
        + f"<h2>Figures</h2><table>{figures}</table>"
        f"<h2>Timeline</h2><table><tr><th>at</th><th>what</th><th></th></tr>{moments}</table>"
    )
    return path
