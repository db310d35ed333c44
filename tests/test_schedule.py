"""How -n N shares the tests among workers (optclaims_report.schedule)."""


from optclaims_report.schedule import longest_first, work_unit



def test_a_test_parametrized_with_a_claim_module_runs_in_that_modules_unit():
    assert work_unit("claims/test_a.py::test_x") == "claims/test_a.py"
    assert work_unit("tests/test_planted_bugs.py::test_bug[claims/test_a.py:bug-1]") == \
        "claims/test_a.py"
    assert work_unit("tests/test_other.py::test_y[plain-id]") == "tests/test_other.py"


def test_units_start_longest_first_and_keep_their_collection_order():
    ids = ["claims/test_a.py::t1", "claims/test_a.py::t2", "claims/test_b.py::t1",
           "tests/test_u.py::t1", "tests/test_bugs.py::t[claims/test_a.py:bug]",
           "tests/test_bugs.py::t[claims/test_b.py:bug]"]
    seconds = {"claims/test_b.py": 30.0, "claims/test_a.py": 10.0}
    assert longest_first(ids, seconds) == [
        "claims/test_b.py::t1", "tests/test_bugs.py::t[claims/test_b.py:bug]",
        "claims/test_a.py::t1", "claims/test_a.py::t2",
        "tests/test_bugs.py::t[claims/test_a.py:bug]", "tests/test_u.py::t1"]
    # with no times kept, the unit with more tests goes first
    assert longest_first(ids, {})[:3] == ["claims/test_a.py::t1", "claims/test_a.py::t2",
                                           "tests/test_bugs.py::t[claims/test_a.py:bug]"]


def test_under_two_workers_a_modules_planted_tests_run_after_it_on_its_worker(pytester):
    """Each test appends (worker, its id) to a log: the tests parametrized with claims/test_a.py
    run on the worker that ran claims/test_a.py, after its tests; each module on one worker.
    The plugin is loaded as the checkout loads it (-p in the pytest options), which registers
    it before xdist: its choice of schedule must still come first."""
    pytester.makeini("[pytest]\naddopts = -p optclaims_report.plugin\n")
    log = pytester.path / "order.log"
    body = ("import os\n\ndef record(name):\n    with open({log!r}, 'a') as f:\n"
            "        f.write(os.environ.get('PYTEST_XDIST_WORKER', '-') + ' ' + name + '\\n')\n")
    claims = pytester.mkdir("claims")
    for name in ("a", "b"):
        (claims / f"test_{name}.py").write_text(body.format(log=str(log)) + "".join(
            f"\ndef test_{name}{i}():\n    record('{name}{i}')\n" for i in range(3)))
    tests = pytester.mkdir("tests")
    (tests / "test_bugs.py").write_text(
        "import pytest\n" + body.format(log=str(log)) +
        "\n@pytest.mark.parametrize('m', ['a', 'b'], ids=['claims/test_a.py:bug', "
        "'claims/test_b.py:bug'])\ndef test_bug(m):\n    record('bug-' + m)\n")
    result = pytester.runpytest_subprocess("claims", "tests", "-n", "2", "-p",
                                           "no:cacheprovider")
    result.assert_outcomes(passed=8)
    lines = [line.split() for line in log.read_text().splitlines()]
    worker = {name: w for w, name in lines}
    order = [name for _, name in lines]
    for m in ("a", "b"):
        assert {worker[f"{m}{i}"] for i in range(3)} == {worker[f"bug-{m}"]}
        assert order.index(f"bug-{m}") > max(order.index(f"{m}{i}") for i in range(3))
