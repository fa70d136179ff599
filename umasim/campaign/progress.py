"""The client's one progress bar: runs or examples done, their rate,
distinct failures so far and, for explorers, race windows interleaved.

It moves when a unit's result arrives (a unit is the grain of a
campaign); it is shown on a terminal only (tqdm, when installed), and
never touches what a campaign writes.
"""

from __future__ import annotations

import sys


class Progress:
    def __init__(self, plan, enabled: bool = True):
        self.plan = plan
        self.bar = None
        self._sigs: set = set()
        self._windows: list[int] = []
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        what = plan.params.get("explorer") or ("fuzz " + (plan.params.get("bug") or "")).strip()
        total = None if plan.time_budget is not None else plan.budget
        self.bar = tqdm(total=total, unit="runs" if plan.command == "explore" else "ex",
                        desc=f"campaign {what}", file=sys.stderr, dynamic_ncols=True,
                        leave=False)

    def add(self, result: dict) -> None:
        """A unit's result arrived (or was read back by --resume)."""
        if self.plan.command == "explore":
            done = result["runs"]
            for c in result["classes"]:
                if c["failed"]:
                    self._sigs.add((c["outcome"], c["message"]))
            w = result["windows"]
            if len(self._windows) < len(w):
                self._windows += [0] * (len(w) - len(self._windows))
            for i, x in enumerate(w):
                self._windows[i] |= x
        else:
            done = result["examples"]
            f = result.get("failure") or result.get("error")
            if f is not None:
                s = f["signature"]
                self._sigs.add((s["kind"], s["message"], s["point"]))
        if self.bar is not None:
            post = {"failures": len(self._sigs)}
            if self.plan.command == "explore":
                post["windows"] = sum(1 for x in self._windows if x & 2)
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
