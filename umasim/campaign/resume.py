"""A campaign's output directory, and continuing a campaign from it.

    DIR/campaign.json        the manifest: the campaign's id, command,
                             parameters, unit size, budget and the core
                             fingerprint of the client that planned it
    DIR/units/NNNNNN.json    each finished unit's result, written (whole,
                             through a rename) as it arrives
    DIR/units/NNNNNN.corpus  a guided shard's corpus (the bindings' bytes),
                             kept while a shard still to run starts from it
    DIR/*.toml, *.trace      the distinct failures' artefacts

`--resume DIR` plans the campaign from the command line again, refuses a
directory whose manifest names another campaign (or another build), and
runs only the units that have no result yet.  Every file is written from
the campaign alone (sorted keys, no times), so the same campaign leaves
the same bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from umasim.errors import InvalidArgument

MANIFEST = "campaign.json"
FORMAT = 1


def _dump(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n"


class CampaignDir:
    """The output directory of one campaign."""

    def __init__(self, path: str | Path, plan, resume: bool = False):
        self.path = Path(path)
        self.plan = plan
        self.units_dir = self.path / "units"
        man = self.path / MANIFEST
        if resume:
            if not man.is_file():
                raise InvalidArgument(f"{self.path}: not a campaign's directory (no {MANIFEST})")
            try:
                old = json.loads(man.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise InvalidArgument(f"{man}: unreadable campaign manifest: {e}") from None
            self._check_same(old)
        elif man.is_file():
            try:
                old = json.loads(man.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = None
            if not isinstance(old, dict) or old.get("campaign") != plan.id:
                raise InvalidArgument(
                    f"{self.path} holds another campaign ({MANIFEST}); choose another "
                    f"--out, or remove it")
        self.path.mkdir(parents=True, exist_ok=True)
        self.units_dir.mkdir(exist_ok=True)
        if not resume:
            for f in self.units_dir.iterdir():
                f.unlink()
        self._write(man, _dump(dict(plan.manifest(), format=FORMAT)))

    def _check_same(self, old) -> None:
        plan = self.plan
        if not isinstance(old, dict) or old.get("format") != FORMAT:
            raise InvalidArgument(f"{self.path}: campaign manifest of another format")
        if old.get("campaign") != plan.id:
            what = old.get("command", "?")
            diff = ""
            if old.get("command") == plan.command:
                keys = sorted(k for k in set(old.get("params", {})) | set(plan.params)
                              if old.get("params", {}).get(k) != plan.params.get(k))
                for k in ("unit_size", "budget"):
                    if old.get(k) != getattr(plan, k):
                        keys.append(k)
                diff = f" (differs in: {', '.join(keys)})" if keys else ""
            raise InvalidArgument(
                f"{self.path} holds another campaign: umasim {what} {old.get('campaign')}"
                f"{diff}, not this command's {plan.command} {plan.id}")
        if old.get("fingerprint") != plan.fingerprint:
            raise InvalidArgument(
                f"{self.path}: its campaign was planned by umasim core "
                f"{old.get('fingerprint')}, this one is {plan.fingerprint}")

    @staticmethod
    def _write(path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    def unit_path(self, index: int) -> Path:
        return self.units_dir / f"{index:06d}.json"

    def done(self) -> dict[int, dict]:
        """The results of the units already finished, by index (a guided
        shard's with its corpus, while it is kept)."""
        out = {}
        for f in sorted(self.units_dir.glob("*.json")):
            try:
                r = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue            # a unit cut short: run it again
            if isinstance(r, dict) and f.stem == f"{r.get('index', -1):06d}" \
                    and r["index"] < self.plan.nunits:
                c = f.with_suffix(".corpus")
                if c.is_file():
                    r["corpus"] = c.read_bytes()
                out[r["index"]] = r
        return out

    def save(self, result: dict) -> None:
        """A unit's result; a guided shard's corpus beside it, first."""
        corpus = result.get("corpus")
        if corpus:
            tmp = self.unit_path(result["index"]).with_suffix(".corpus.tmp")
            tmp.write_bytes(corpus)
            os.replace(tmp, tmp.with_suffix(""))
        self._write(self.unit_path(result["index"]),
                    _dump({k: v for k, v in result.items()
                           if k not in ("corpus", "corpus_digests")}))

    def drop_corpus(self, index: int) -> None:
        self.unit_path(index).with_suffix(".corpus").unlink(missing_ok=True)

    def write_findings(self, obj) -> None:
        self._write(self.path / "findings.json", json.dumps(obj, sort_keys=True, indent=1) + "\n")
