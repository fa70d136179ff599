"""The scenario loader (docs/design.md, "Scenario files"): every default is
filled in, and every error names the file, the line, and the field or op
with indexes from 0 -- `s.toml:9: thread[1].ops[3]: unknown zone "mbf"`."""

from __future__ import annotations

import textwrap

import pytest

from umasim.model.scenario import Scenario, ScenarioError, from_dict, load, loads

SIM_DEFAULTS = {
    "cpus": 2, "pages": 256, "kmem_pages": 1024, "free_min": 0, "boot_pages": 48,
    "md_small_alloc": False, "pagedaemon": False, "ticks_per_step": 1,
    "granularity": "coarse", "invariants": True, "bugs": [], "seed": 0, "align_cache": "cache",
}
SCHEDULE_DEFAULTS = {
    "policy": "sequential", "seed": 0, "depth": 3, "steps_hint": 0, "migrate": 0.0,
    "steps": None, "decisions": None, "then": "sequential", "max_steps": 1_000_000,
}


def error(text: str, source: str = "s.toml") -> ScenarioError:
    with pytest.raises(ScenarioError) as ei:
        loads(textwrap.dedent(text), source)
    return ei.value


# -- defaults ------------------------------------------------------------

def test_minimal_file_gets_every_default():
    scn = loads(textwrap.dedent("""
        [[zone]]
        name = "z"
        size = 64

        [[thread]]
        name = "a"
        ops = ["alloc z -> x", "free x"]
    """), "min.toml")
    assert isinstance(scn, Scenario)
    assert scn.sim == SIM_DEFAULTS
    assert scn.zones == [{"name": "z", "size": 64, "align": "ptr", "flags": []}]
    assert scn.threads == [{"name": "a", "cpu": 0, "repeat": 1,
                            "ops": ["alloc z -> x", "free x"]}]
    assert scn.schedule.to_dict() == {k: v for k, v in SCHEDULE_DEFAULTS.items() if v is not None}
    assert type(scn.schedule.migrate) is float
    assert scn.expect == {}
    assert scn.source == "min.toml"


def test_empty_file_is_a_scenario_with_nothing_in_it():
    scn = loads("")
    assert (scn.sim, scn.zones, scn.threads, scn.schedule.to_dict(), scn.expect) == \
        (SIM_DEFAULTS, [], [], {k: v for k, v in SCHEDULE_DEFAULTS.items() if v is not None},
         {})


def test_defaults_reach_the_sim():
    scn = loads('[[thread]]\nname = "a"\nops = ["yield"]\n')
    sim = scn.build()
    a = next(t for t in sim.threads if t.name == "a")
    assert a.cpu == 0
    r = sim.run(**scn.run_args())
    assert (r.outcome, sim.ticks) == ("completed", sim.steps)   # ticks_per_step = 1


def test_given_values_are_kept_and_steps_imply_script():
    scn = loads(textwrap.dedent("""
        [sim]
        cpus = 4
        bugs = ["stale_cache"]
        granularity = "fine"
        [[zone]]
        name = "m"
        size = 256
        align = "cache"
        flags = ["refcnt"]
        max = 32
        ctor = "trash"
        [[zone]]
        name = "p"
        master = "m"
        [[thread]]
        name = "a"
        cpu = 3
        repeat = 2
        ops = ["alloc p -> x{i}", "free x{i}"]
        [schedule]
        steps = ["a", "a@1"]
        [expect]
        outcome = "completed"
        zone.m = { used = 0, fails = ">= 0" }
    """))
    assert scn.sim == {**SIM_DEFAULTS, "cpus": 4, "bugs": ["stale_cache"],
                       "granularity": "fine"}
    assert scn.zones == [{"name": "m", "size": 256, "align": "cache", "flags": ["refcnt"],
                          "max": 32, "ctor": "trash"},
                         {"name": "p", "master": "m"}]
    assert scn.threads[0] == {"name": "a", "cpu": 3, "repeat": 2,
                              "ops": ["alloc p -> x{i}", "free x{i}"]}
    assert scn.schedule.policy == "script"
    assert scn.schedule.steps == ("a", "a@1")
    assert scn.expect == {"outcome": "completed", "zone": {"m": {"used": 0, "fails": ">=0"}}}


def test_normalised_dict_round_trips():
    text = textwrap.dedent("""
        [sim]
        pages = 32
        [[zone]]
        name = "z"
        size = 100
        [[thread]]
        name = "a"
        ops = ["alloc z -> x", "free x"]
        [schedule]
        decisions = [0, 1]
    """)
    scn = loads(text)
    again = from_dict(scn.to_dict())
    assert again.to_dict() == scn.to_dict()
    assert (again.sim, again.zones, again.threads, again.schedule) == \
        (scn.sim, scn.zones, scn.threads, scn.schedule)


# -- errors: where and what ---------------------------------------------

# (name, text, line, where, part of the message)
CASES = [
    # unknown keys, in every table
    ("top key", 'zones = 1\n', 1, "zones", "unknown key"),
    ("sim key", '[sim]\ncpus = 2\ncpu = 1\n', 3, "sim.cpu", "unknown key"),
    ("zone key", '[[zone]]\nname = "z"\nsize = 64\nsizes = 2\n', 4, "zone[0].sizes",
     "unknown key"),
    ("second zone key", '[[zone]]\nname = "y"\nsize = 64\n[[zone]]\nname = "z"\n'
     'size = 64\nctr = "trash"\n', 7, "zone[1].ctr", "unknown key"),
    ("thread key", '[[thread]]\nname = "a"\nops = []\n[[thread]]\nname = "b"\n'
     'ops = []\nprio = 3\n', 7, "thread[1].prio", "unknown key"),
    ("schedule key", '[schedule]\npolicy = "random"\nsede = 1\n', 3, "schedule.sede",
     "unknown key"),
    ("expect key", '[expect]\noutcome = "completed"\npanics = "x"\n', 3, "expect.panics",
     "unknown key"),
    ("expect zone figure", '[[zone]]\nname = "z"\nsize = 64\n[expect]\n'
     'zone.z = { usde = 1 }\n', 5, "expect.zone.z.usde", "unknown key"),
    # wrong types
    ("cpus string", '[sim]\ncpus = "2"\n', 2, "sim.cpus", "must be an integer, not a string"),
    ("bool int", '[sim]\ninvariants = 1\n', 2, "sim.invariants", "true or false"),
    ("int bool", '[[thread]]\nname = "a"\nrepeat = true\nops = []\n', 3, "thread[0].repeat",
     "must be an integer, not a boolean"),
    ("float cpus", '[sim]\ncpus = 2.0\n', 2, "sim.cpus", "must be an integer"),
    ("sim not table", 'sim = 3\n', 1, "sim", "must be a table"),
    ("zone not array", '[zone]\nname = "z"\nsize = 1\n', 1, "zone", "array of tables"),
    ("size string", '[[zone]]\nname = "z"\nsize = "64"\n', 3, "zone[0].size",
     "must be an integer"),
    ("ops string", '[[thread]]\nname = "a"\nops = "yield"\n', 3, "thread[0].ops",
     "must be a list of strings"),
    ("op not string", '[[thread]]\nname = "a"\nops = ["yield", 3]\n', 3, "thread[0].ops[1]",
     "must be a string"),
    ("granularity", '[sim]\ngranularity = "medium"\n', 2, "sim.granularity",
     "unknown value 'medium'"),
    ("policy", '[schedule]\npolicy = "fifo"\n', 2, "schedule.policy", "unknown value 'fifo'"),
    ("outcome", '[expect]\noutcome = "done"\n', 2, "expect.outcome", "unknown value 'done'"),
    ("asleep type", '[expect]\nasleep = "zonelimit"\n', 2, "expect.asleep",
     "list of wait messages"),
    ("migrate type", '[schedule]\npolicy = "random"\nmigrate = 2\n', 3, "schedule.migrate",
     "from 0 to 1"),
    ("figure", '[[zone]]\nname = "z"\nsize = 64\n[expect]\nzone.z = { used = "lots" }\n',
     5, "expect.zone.z.used", "comparison"),
    # names that do not exist
    ("unknown zone in op", '[[zone]]\nname = "mbuf"\nsize = 256\n[[thread]]\nname = "a"\n'
     'ops = ["yield"]\n[[thread]]\nname = "b"\n'
     'ops = ["yield", "yield", "yield", "alloc mbf -> x"]\n',
     9, "thread[1].ops[3]", 'unknown zone "mbf"'),
    ("unknown master", '[[zone]]\nname = "p"\nmaster = "mbuf"\n', 3, "zone[0].master",
     'unknown zone "mbuf"'),
    ("unknown attach", '[[zone]]\nname = "p"\nsize = 64\nzinit = "attach clust"\n', 4,
     "zone[0].zinit", 'unknown zone "clust"'),
    ("unknown expect zone", '[expect]\nzone.mbf = { used = 1 }\n', 2, "expect.zone.mbf",
     'unknown zone "mbf"'),
    ("unknown thread in steps", '[[thread]]\nname = "a"\nops = ["yield"]\n[schedule]\n'
     'steps = ["a", "b"]\n', 5, "schedule.steps[1]", 'unknown thread "b"'),
    ("unknown variable", '[[thread]]\nname = "a"\nops = ["yield", "free x"]\n', 3,
     "thread[0].ops[1]", 'unknown variable "x"'),
    ("unknown callback", '[[zone]]\nname = "z"\nsize = 64\nctor = "bogus"\n', 4,
     "zone[0].ctor", "unknown callback 'bogus'"),
    ("unknown bug", '[sim]\nbugs = ["stale_cache", "nope"]\n', 2, "sim.bugs[1]",
     "unknown bug switch 'nope'"),
    ("unknown event kind", '[expect]\nevents = { migrations = 1 }\n', 2,
     "expect.events.migrations", "unknown event kind"),
    # op syntax
    ("unknown op", '[[thread]]\nname = "a"\nops = ["frobnicate x"]\n', 3, "thread[0].ops[0]",
     'unknown op "frobnicate"'),
    ("alloc without var", '[[zone]]\nname = "z"\nsize = 64\n[[thread]]\nname = "a"\n'
     'ops = ["alloc z"]\n', 6, "thread[0].ops[0]", "-> VAR"),
    # schedules
    ("steps and decisions", '[[thread]]\nname = "a"\nops = ["yield"]\n[schedule]\n'
     'steps = ["a"]\ndecisions = [0]\n', 4, "schedule", "not both"),
    ("script without list", '[schedule]\npolicy = "script"\n', 2, "schedule.policy",
     "needs steps or decisions"),
    # vCPUs
    ("cpus 0", '[sim]\ncpus = 0\n', 2, "sim.cpus", "at least 1, not 0"),
    ("cpus 65", '[sim]\ncpus = 65\n', 2, "sim.cpus", "at most 64, not 65"),
    ("thread on missing vCPU", '[sim]\ncpus = 2\n[[thread]]\nname = "a"\ncpu = 2\n'
     'ops = ["yield"]\n', 5, "thread[0].cpu", "vCPU 2 does not exist"),
    ("migration to missing vCPU", '[sim]\ncpus = 2\n[[thread]]\nname = "a"\n'
     'ops = ["yield"]\n[schedule]\nsteps = ["a", "a@2"]\n', 7, "schedule.steps[1]",
     "does not exist"),
    # negative counts
    ("negative pages", '[sim]\npages = -1\n', 2, "sim.pages", "negative"),
    ("negative repeat", '[[thread]]\nname = "a"\nrepeat = -1\nops = []\n', 3,
     "thread[0].repeat", "negative"),
    ("negative cpu", '[[thread]]\nname = "a"\ncpu = -1\nops = []\n', 3, "thread[0].cpu",
     "negative"),
    ("negative max", '[[zone]]\nname = "z"\nsize = 64\nmax = -3\n', 4, "zone[0].max",
     "at least 1"),
    ("negative decision", '[[thread]]\nname = "a"\nops = ["yield"]\n[schedule]\n'
     'decisions = [0, -1]\n', 5, "schedule.decisions[1]", "negative"),
    ("negative op count", '[[thread]]\nname = "a"\nops = ["yield", "vm_fail -1"]\n', 3,
     "thread[0].ops[1]", "negative"),
    ("negative setmax", '[[zone]]\nname = "z"\nsize = 64\n[[thread]]\nname = "a"\n'
     'ops = ["setmax z -5"]\n', 6, "thread[0].ops[0]", "negative"),
    # sizes beyond kmem_map (16 pages = 65536 bytes)
    ("zone size", '[sim]\nkmem_pages = 16\n[[zone]]\nname = "z"\nsize = 65537\n', 5,
     "zone[0].size", "at most 65536"),
    # requests beyond kmem_map are run-time events; beyond an int, refused
    ("malloc size", '[sim]\nkmem_pages = 16\n[[thread]]\nname = "a"\n'
     'ops = ["malloc 2147483648 -> x"]\n', 5, "thread[0].ops[0]", "not 1 to 2147483647"),
    ("malloc_large size", '[sim]\nkmem_pages = 16\n[[thread]]\nname = "a"\n'
     'ops = ["malloc_large 0 -> x"]\n', 5, "thread[0].ops[0]", "not 1 to 2147483647"),
    ("zcreate size", '[sim]\nkmem_pages = 16\n[[thread]]\nname = "a"\n'
     'ops = ["zcreate q size=70000"]\n', 5, "thread[0].ops[0]", "kmem_map"),
    # names declared twice
    ("duplicate thread", '[[thread]]\nname = "a"\nops = []\n[[thread]]\nname = "a"\n'
     'ops = []\n', 5, "thread[1].name", "exists already"),
    ("duplicate zone", '[[zone]]\nname = "z"\nsize = 8\n[[zone]]\nname = "z"\nsize = 8\n',
     5, "zone[1].name", "declared twice"),
]


@pytest.mark.parametrize("text,line,where,msg", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_error_names_file_line_and_field(text, line, where, msg):
    e = error(text)
    assert (e.source, e.line, e.where) == ("s.toml", line, where)
    assert msg in e.message
    assert str(e) == f"s.toml:{line}: {where}: {e.message}"


def test_the_example_of_the_design():
    e = error('''
        [[zone]]
        name = "mbuf"
        size = 256

        [[thread]]
        name = "a"
        ops = ["alloc mbuf -> x", "free x"]

        [[thread]]
        name = "b"
        ops = ["yield", "yield", "yield", "alloc mbf -> y", "free y"]
    ''', "scen.toml")
    assert str(e) == 'scen.toml:12: thread[1].ops[3]: unknown zone "mbf"'


def test_line_of_an_op_in_a_multiline_array():
    e = error('''\
        [[zone]]
        name = "mbuf"
        size = 256

        [[thread]]
        name = "b"
        ops = [
          "yield",            # a comment with "quotes", and a comma
          'yield', "yield",
          # a whole-line comment
          "alloc mbf -> x",
        ]
        [schedule]
        steps = [
          "b",
          "b", "c",
        ]
    ''')
    assert (e.line, e.where) == (11, "thread[0].ops[3]")
    e = error('''\
        [[thread]]
        name = "b"
        ops = [
          "yield",
        ]
        [schedule]
        steps = [
          "b",
          "b", "c",
        ]
    ''')
    assert (e.line, e.where, e.message) == (9, "schedule.steps[2]", 'unknown thread "c"')


def test_line_of_a_key_after_tables_and_comments():
    e = error('''\
        # a scenario
        [sim]
        cpus = 2   # two

        [[zone]]
        name = "z"
        size = 64

        [[thread]]
        name = "a"
        ops = ["yield"]

        [[thread]]
        name = "b"
        cpu = 1
        repeat = 2
        ops = ["yield"]

        [[thread]]
        name = "c"
        cpu = 2
        ops = ["yield"]
    ''')
    assert (e.line, e.where) == (21, "thread[2].cpu")


def test_error_without_a_line_says_the_table():
    # A thread needs ops: the error points at the thread's table.
    e = error('[sim]\ncpus = 1\n\n[[thread]]\nname = "a"\n')
    assert (e.line, e.where) == (4, "thread[0]")
    assert "needs ops" in e.message
    # From a dict there are no lines at all.
    with pytest.raises(ScenarioError) as ei:
        from_dict({"sim": {"cpus": 0}}, "hdr")
    assert ei.value.line is None
    assert str(ei.value).startswith("hdr: sim.cpus: ")


# -- files ---------------------------------------------------------------

def test_load_reads_a_file(tmp_path):
    p = tmp_path / "ok.toml"
    p.write_text('[sim]\ncpus = 3\n', encoding="utf-8")
    scn = load(p)
    assert scn.sim["cpus"] == 3 and scn.source == str(p)


def test_missing_file(tmp_path):
    p = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as ei:
        load(p)
    assert str(ei.value).startswith(f"{p}: cannot read")
    assert ei.value.line is None


def test_unreadable_directory(tmp_path):
    with pytest.raises(ScenarioError) as ei:
        load(tmp_path)
    assert str(ei.value).startswith(f"{tmp_path}: cannot read")


def test_non_utf8_file(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes(b'[sim]\ncpus = 2\n# caf\xe9\n')
    with pytest.raises(ScenarioError) as ei:
        load(p)
    assert (ei.value.source, ei.value.line) == (str(p), 3)
    assert "UTF-8" in str(ei.value)


def test_invalid_toml_gives_tomls_line(tmp_path):
    p = tmp_path / "broken.toml"
    p.write_text('[sim]\ncpus = 2\n\npages = = 3\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as ei:
        load(p)
    assert ei.value.line == 4
    assert str(ei.value).startswith(f"{p}:4: not valid TOML")
    assert "line 4, column" not in str(ei.value)      # said once, in front
    e = error('[[thread]]\nname = "a"\nops = ["yield"\n\n[sim]\n')
    assert e.line is not None and e.line >= 3 and "not valid TOML" in e.message
