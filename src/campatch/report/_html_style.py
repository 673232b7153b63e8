"""The HTML report's inline stylesheet (system fonts only; prints on paper too)."""

from __future__ import annotations

__all__ = ["CSS"]

CSS = """
:root { --crit:#b3001b; --high:#e4572e; --med:#f2a541; --low:#4f86c6; --info:#9aa5b1;
  --ok:#2e7d32; --ink:#1d232a; --muted:#5b6670; --card:#ffffff; --bg:#f4f6f8; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 24px 16px 48px; }
h1 { margin: 0 0 4px; font-size: 1.8rem; }
h2 { margin: 32px 0 12px; font-size: 1.35rem; }
h3 { margin: 0 0 4px; font-size: 1.1rem; }
.meta { color: var(--muted); margin: 0 0 8px; font-size: .92rem; }
.summary { background: var(--card); border-left: 8px solid var(--ok); border-radius: 6px;
  padding: 12px 20px; margin-top: 16px; }
.summary h2 { margin: 4px 0 8px; font-size: 1.6rem; }
.summary.st-now { border-color: var(--crit); }
.summary.st-check { border-color: var(--med); }
.summary ul { margin: 0; padding-left: 20px; }
.kev-note { font-weight: 600; color: var(--crit); }
.card { background: var(--card); border-radius: 6px; padding: 14px 18px; margin: 12px 0;
  border-left: 6px solid var(--ok); box-shadow: 0 1px 2px rgba(0,0,0,.08);
  overflow-wrap: anywhere; }
.card.st-now { border-color: var(--crit); }
.card.st-check { border-color: var(--med); }
.badge { font-size: .8rem; font-weight: 600; padding: 2px 8px; border-radius: 10px;
  background: #e8f5e9; color: var(--ok); vertical-align: middle; }
.st-now .badge { background: #fde7ea; color: var(--crit); }
.st-check .badge { background: #fff4e0; color: #8a5a00; }
.todo p { margin: 6px 0; }
.sev { font-weight: 700; text-transform: uppercase; font-size: .78rem; padding: 1px 6px;
  border-radius: 4px; color: #fff; }
.kev { font-size: .78rem; font-weight: 700; color: var(--crit); border: 1px solid var(--crit);
  border-radius: 4px; padding: 0 4px; }
.evidence { color: var(--muted); font-size: .88rem; }
details { margin-top: 6px; } details li { margin: 8px 0; }
summary { cursor: pointer; color: var(--muted); }
figure { background: var(--card); border-radius: 6px; padding: 12px 16px; margin: 12px 0; }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg.chart { width: 100%; height: auto; display: block; }
svg .label, svg .note, svg .tick, svg .axis-label { font: 13px system-ui, sans-serif;
  fill: var(--ink); }
svg .tick, svg .axis-label { fill: var(--muted); font-size: 11px; }
svg .grid { stroke: #dde2e6; stroke-width: 1; }
.sev-critical { background: var(--crit); fill: var(--crit); }
.sev-high { background: var(--high); fill: var(--high); }
.sev-medium { background: var(--med); fill: var(--med); }
.sev-low { background: var(--low); fill: var(--low); }
.sev-info { background: var(--info); fill: var(--info); }
.age-new { fill: var(--ok); } .age-old { fill: var(--med); } .age-ancient { fill: var(--crit); }
.exposed { fill: var(--high); }
.legend { margin: 6px 0 0; font-size: .85rem; color: var(--muted); }
.key { margin-right: 14px; white-space: nowrap; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
  margin-right: 4px; vertical-align: -1px; }
dt { font-weight: 700; } dd { margin: 0 0 8px 0; color: var(--muted); }
a { color: #1a5fb4; }
@media print { body { background: #fff; } .card, figure { box-shadow: none;
  border: 1px solid #ccc; } details { display: block; } }
"""
