"""Accuracy against published table-level splits of two public benchmark applications.

The SQL is our own, modelled on JPetStore 6 (MyBatis mappers, one .sql file per action)
and on Spring PetClinic (recorded traffic; the visits endpoints follow the visits-service
API of spring-petclinic-microservices, the split the reference comes from).
"""

from pathlib import Path

from analysis.pipeline import Inputs, run

DATA = Path(__file__).parent / "data"


def test_jpetstore_contexts_match_the_published_split():
    app = DATA / "jpetstore"
    analysis = run(
        Inputs(
            schema=(app / "schema.sql",),
            sql_dirs=(app / "actions",),
            reference=app / "reference.json",
        )
    )
    assert analysis.metrics["mojofm"] >= 90
    assert analysis.metrics["reference_tables_missing"] == 0
    # the order action updates inventory: a cross-context write (saga candidate)
    multi = [f for f in analysis.findings if f.kind == "multi_context_write"]
    assert [f.endpoints for f in multi] == [("order_new",)]


def test_petclinic_contexts_match_the_published_split():
    app = DATA / "petclinic"
    analysis = run(
        Inputs(
            schema=(app / "schema.sql",),
            logs=(app / "traffic.jsonl",),
            dialect="mysql",
            reference=app / "reference.json",
        )
    )
    assert analysis.metrics["mojofm"] >= 90
    assert analysis.metrics["c2c_coverage_50"] == 100.0
