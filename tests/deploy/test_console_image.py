"""The image builds the console in a Node stage and ships only its files, not Node."""

from __future__ import annotations

import re

from devkit.server import ROOT


def test_final_image_has_the_built_console_and_no_node() -> None:
    stages = re.split(r"^FROM ", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)[1:]
    builders = [stage for stage in stages[:-1] if stage.startswith("node:")]
    assert builders, "no Node build stage for the console"
    assert "npm run build" in builders[0]
    final = stages[-1]
    assert re.search(r"^COPY --from=\w+ /src/console/dist \./console/dist$", final, re.MULTILINE)
    assert not final.startswith("node:")
    assert "npm" not in final
    assert "nodejs" not in final
