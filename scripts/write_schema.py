"""Write cnncalc/data/spec.schema.json from the layer registry.

Run after adding or changing a layer type or a budget metric:

    python scripts/write_schema.py

tests/test_schema.py fails while the shipped file differs from what
`cnncalc.schema.build_schema()` generates.
"""

from __future__ import annotations

from pathlib import Path

from cnncalc.schema import SCHEMA_FILE, schema_text


def main() -> None:
    target = Path(__file__).resolve().parents[1] / "cnncalc" / "data" / SCHEMA_FILE
    target.parent.mkdir(exist_ok=True)
    target.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
