"""The stored text is Avro Java's `Schema.toString()`, as Confluent's `canonicalString()` is.

Expected texts follow Avro Java's printer: a named type shows its short `name` and a
`namespace` only where it differs from the enclosing one; a reference is short inside its own
namespace and full elsewhere; key order type, name, namespace, doc, body, custom properties
(as written), aliases. Apache Avro's Python package is the oracle for meaning: reading our
text back must give the same schema as reading what the user wrote.
"""

from __future__ import annotations

import json

import avro.schema
import pytest

from lulea.schema_registry.domain.avro_schema import parse_avro
from lulea.schema_registry.domain.avro_text import normalized_text

from .test_compatibility_oracle import CORPUS, SHAPES

# (case, as written, as Avro Java prints it)
JAVA_FORM: list[tuple[str, str, str]] = [
    ("namespace kept apart",
     '{"type":"record","name":"X","namespace":"foo","fields":[]}',
     '{"type":"record","name":"X","namespace":"foo","fields":[]}'),
    ("dotted name split",
     '{"type":"record","name":"foo.bar.X","fields":[]}',
     '{"type":"record","name":"X","namespace":"foo.bar","fields":[]}'),
    ("nested type inherits, reference stays short",
     '{"type":"record","name":"X","namespace":"foo","fields":['
     '{"name":"y","type":{"type":"record","name":"Y","fields":[]}},{"name":"again","type":"Y"}]}',
     '{"type":"record","name":"X","namespace":"foo","fields":['
     '{"name":"y","type":{"type":"record","name":"Y","fields":[]}},{"name":"again","type":"Y"}]}'),
    ("full reference inside its namespace printed short",
     '{"type":"record","name":"foo.X","fields":['
     '{"name":"y","type":{"type":"enum","name":"foo.E","symbols":["A"]}},'
     '{"name":"again","type":"foo.E"}]}',
     '{"type":"record","name":"X","namespace":"foo","fields":['
     '{"name":"y","type":{"type":"enum","name":"E","symbols":["A"]}},{"name":"again","type":"E"}]}'),
    ("other namespace inside, references across",
     '{"type":"record","name":"X","namespace":"foo","fields":['
     '{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}},'
     '{"name":"z","type":{"type":"record","name":"Z","namespace":"bar","fields":['
     '{"name":"e","type":"foo.E"},{"name":"f","type":{"type":"fixed","name":"F","size":1}},'
     '{"name":"g","type":"F"}]}},'
     '{"name":"f","type":"bar.F"},{"name":"z2","type":"bar.Z"}]}',
     '{"type":"record","name":"X","namespace":"foo","fields":['
     '{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}},'
     '{"name":"z","type":{"type":"record","name":"Z","namespace":"bar","fields":['
     '{"name":"e","type":"foo.E"},{"name":"f","type":{"type":"fixed","name":"F","size":1}},'
     '{"name":"g","type":"F"}]}},'
     '{"name":"f","type":"bar.F"},{"name":"z2","type":"bar.Z"}]}'),
    ("nested namespace in a deeper one",
     '{"type":"record","name":"a.R","fields":[{"name":"s","type":{"type":"record",'
     '"name":"a.b.S","fields":[{"name":"t","type":{"type":"record","name":"T","fields":[]}}]}},'
     '{"name":"t","type":"a.b.T"}]}',
     '{"type":"record","name":"R","namespace":"a","fields":[{"name":"s","type":{"type":"record",'
     '"name":"S","namespace":"a.b","fields":[{"name":"t","type":{"type":"record","name":"T",'
     '"fields":[]}}]}},{"name":"t","type":"a.b.T"}]}'),
    # (fastavro, unlike Avro Java, cannot refer to `Top` from inside `foo`: no reference here)
    ("null namespace inside a namespace",
     '{"type":"record","name":"X","namespace":"foo","fields":['
     '{"name":"top","type":{"type":"record","name":"Top","namespace":"","fields":['
     '{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}},{"name":"f","type":"E"}]}},'
     '{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}]}',
     '{"type":"record","name":"X","namespace":"foo","fields":['
     '{"name":"top","type":{"type":"record","name":"Top","namespace":"","fields":['
     '{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}},{"name":"f","type":"E"}]}},'
     '{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}]}'),
    ("inside arrays, maps and unions",
     '{"type":"record","name":"n.R","fields":[{"name":"a","type":{"type":"array","items":'
     '{"type":"record","name":"n.I","fields":[]}}},{"name":"m","type":{"type":"map",'
     '"values":"n.I"}},{"name":"u","type":["null","n.I","n.R"]}]}',
     '{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":{"type":"array",'
     '"items":{"type":"record","name":"I","fields":[]}}},{"name":"m","type":{"type":"map",'
     '"values":"I"}},{"name":"u","type":["null","I","R"]}]}'),
    ("key order, properties as written, aliases last and relative",
     '{"aliases":["n.Old","Older","m.Other"],"fields":[{"default":1,"zz":1,"aliases":["b"],'
     '"doc":"f","aa":2,"order":"DESCENDING","type":{"type":"int"},"name":"a"}],"zprop":1,'
     '"doc":"r","aprop":[1],"namespace":"n","name":"R","type":"record"}',
     '{"type":"record","name":"R","namespace":"n","doc":"r","fields":[{"name":"a","type":"int",'
     '"doc":"f","default":1,"order":"descending","aliases":["b"],"zz":1,"aa":2}],"zprop":1,'
     '"aprop":[1],"aliases":["Old","Older","m.Other"]}'),
    ("enum and fixed keys",
     '{"type":"record","name":"R","fields":[{"name":"e","type":{"symbols":["A","B"],'
     '"default":"A","x":1,"doc":"e","name":"E","type":"enum","aliases":["E0"]}},{"name":"f",'
     '"type":{"size":2,"doc":"f","name":"F","type":"fixed","logicalType":"decimal",'
     '"precision":4}}]}',
     '{"type":"record","name":"R","fields":[{"name":"e","type":{"type":"enum","name":"E",'
     '"doc":"e","symbols":["A","B"],"default":"A","x":1,"aliases":["E0"]}},{"name":"f",'
     '"type":{"type":"fixed","name":"F","doc":"f","size":2,"logicalType":"decimal",'
     '"precision":4}}]}'),
    ("primitive properties as written, reserved keys dropped",
     '{"type":"array","doc":"no","items":{"type":"long","zl":1,"logicalType":"timestamp-millis",'
     '"name":"no"}}',
     '{"type":"array","items":{"type":"long","zl":1,"logicalType":"timestamp-millis"}}'),
    ("a primitive with only reserved keys is its name",
     '{"type":"string","doc":"nothing"}', '"string"'),
]


@pytest.mark.parametrize(("case", "written", "java"), JAVA_FORM, ids=[c[0] for c in JAVA_FORM])
def test_canonical_text_is_avro_javas_to_string(case: str, written: str, java: str) -> None:
    assert parse_avro(written).canonical == java
    assert parse_avro(java).canonical == java  # printing is idempotent


def _same_in_apache_avro(written: str, ours: str) -> None:
    theirs, back = avro.schema.parse(written), avro.schema.parse(ours)
    assert back == theirs, (written, ours)
    assert back.canonical_form == theirs.canonical_form  # full names resolve the same


ORACLE = [w for _, w, _ in JAVA_FORM if "doc" not in w] + list(CORPUS.values()) + list(
    SHAPES.values())


@pytest.mark.parametrize("written", ORACLE)
def test_apache_avro_reads_our_text_as_what_was_written(written: str) -> None:
    _same_in_apache_avro(written, parse_avro(written).canonical)


def test_referenced_types_print_as_references() -> None:
    dep = parse_avro('{"type":"record","name":"a.Dep","fields":[{"name":"x","type":"int"}]}')
    inside = parse_avro('{"type":"record","name":"a.Main","fields":[{"name":"d","type":"a.Dep"}]}',
                        dep.named)
    assert inside.canonical == ('{"type":"record","name":"Main","namespace":"a","fields":'
                                '[{"name":"d","type":"Dep"}]}')
    outside = parse_avro('{"type":"record","name":"Main","fields":[{"name":"d","type":"a.Dep"}]}',
                         dep.named)
    assert '"type":"a.Dep"' in outside.canonical


def test_normalized_form_keeps_full_names_and_sorted_aliases() -> None:
    """`normalize=true` has its own form (fullnames, sorted aliases and properties)."""
    text = ('{"type":"record","name":"R","namespace":"n","aliases":["z","a"],"zprop":1,'
            '"aprop":2,"fields":[{"name":"x","type":{"type":"enum","name":"E","symbols":["A"]}},'
            '{"name":"y","type":"E"}]}')
    assert normalized_text(text) == (
        '{"type":"record","name":"n.R","aliases":["a","z"],"fields":[{"name":"x","type":'
        '{"type":"enum","name":"n.E","symbols":["A"]}},{"name":"y","type":"n.E"}],"aprop":2,'
        '"zprop":1}')
    assert json.loads(normalized_text(text)) != json.loads(parse_avro(text).canonical)
