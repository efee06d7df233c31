"""read_table / read_table_with_notes on real files shipped with scikit-learn and on small files
written to tmp_path, each showing one way a beginner's data file goes wrong."""

from __future__ import annotations

import gzip
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from steadyml.data.loading import file_kind, read_table, read_table_with_notes
from steadyml.errors import DataError

SKLEARN_DATA = Path(str(resources.files("sklearn.datasets") / "data"))


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def is_text(column: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(column.dtype) and not pd.api.types.is_numeric_dtype(
        column.dtype
    )


# -- real files --------------------------------------------------------------------------------


def test_reads_sklearn_iris_csv_with_numbers_as_numbers() -> None:
    df = read_table(SKLEARN_DATA / "iris.csv")
    assert df.shape == (150, 5)
    # sklearn's first line is metadata ("150,4,setosa,..."), read as the header
    assert list(df.columns) == ["150", "4", "setosa", "versicolor", "virginica"]
    assert pd.api.types.is_float_dtype(df["150"].dtype)
    assert pd.api.types.is_integer_dtype(df["virginica"].dtype)


def test_rows_longer_than_the_header_are_refused_not_turned_into_an_index() -> None:
    # wine_data.csv: a 5-field first line above 14-field rows; pandas would silently build a
    # 9-level index from the first columns
    with pytest.raises(DataError, match=r"names 5 columns, but the file has rows with 14 values"):
        read_table(SKLEARN_DATA / "wine_data.csv")


def test_space_separated_file_is_split_on_spaces_with_a_note() -> None:
    df, notes = read_table_with_notes(SKLEARN_DATA / "linnerud_exercise.csv")
    assert list(df.columns) == ["Chins", "Situps", "Jumps"]
    assert len(df) == 20
    assert pd.api.types.is_integer_dtype(df["Jumps"].dtype)
    assert notes == [
        "'linnerud_exercise.csv' is separated by spaces, not commas; it was read that way."
    ]


def test_gzipped_file_without_header_gets_a_note() -> None:
    df, notes = read_table_with_notes(SKLEARN_DATA / "diabetes_data_raw.csv.gz")
    assert df.shape == (441, 10)  # 442 patients: the first is read as the header
    assert any("may have no header row" in note for note in notes)


def test_headerless_file_with_repeated_numbers_says_the_header_is_missing() -> None:
    with pytest.raises(DataError, match="more than one column named") as info:
        read_table(SKLEARN_DATA / "digits.csv.gz")
    assert info.value.hint is not None
    assert "no header row" in info.value.hint


# -- paths and extensions ----------------------------------------------------------------------


def test_missing_file_names_the_absolute_path_and_a_close_match(tmp_path: Path) -> None:
    write(tmp_path / "customers.csv", "a,b\n1,2\n")
    with pytest.raises(DataError) as info:
        read_table(tmp_path / "customer.csv")
    assert info.value.message == f"Data file not found: '{tmp_path / 'customer.csv'}'."
    assert info.value.hint == f"Did you mean '{tmp_path / 'customers.csv'}'?"


def test_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "nowhere" / "data.csv")


def test_unsupported_extension_lists_the_supported_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "data.xlsx", "not really excel")
    with pytest.raises(DataError, match=r"'\.xlsx' are not supported\. Supported: \.csv, \.tsv"):
        read_table(path)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.csv", "csv"),
        ("a.TSV", "csv"),
        ("a.txt", "csv"),
        ("a.csv.gz", "csv"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
    ],
)
def test_file_kind(name: str, kind: str) -> None:
    assert file_kind(name) == kind


def test_file_kind_refuses_json() -> None:
    with pytest.raises(DataError, match=r"'\.json'"):
        file_kind("data.json")


# -- empty and cut-off files -------------------------------------------------------------------


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"is empty \(0 bytes\)"):
        read_table(write(tmp_path / "empty.csv", ""))


def test_header_without_rows_names_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "header.csv", "age,income,churned\n")
    with pytest.raises(DataError, match="has columns 'age', 'income', 'churned' but no rows"):
        read_table(path)


def test_nrows_zero_reads_only_the_column_names(tmp_path: Path) -> None:
    df = read_table(write(tmp_path / "d.csv", "a,b\n1,2\n3,4\n"), nrows=0)
    assert list(df.columns) == ["a", "b"]
    assert len(df) == 0


def test_nrows_reads_the_first_rows(tmp_path: Path) -> None:
    df = read_table(write(tmp_path / "d.csv", "a,b\n1,2\n3,4\n5,6\n"), nrows=2)
    assert df["a"].tolist() == [1, 3]


def test_truncated_last_line_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "cut.csv", "a,b,c\n1,2,3\n4,5,6\n7,8")
    with pytest.raises(DataError, match=r"last line .* \(line 4\) has 2 of 3 values"):
        read_table(path)


def test_ragged_row_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "ragged.csv", "a,b,c\n1,2,3\n4,5,6,7\n7,8,9\n")
    with pytest.raises(DataError, match="line 3 has 4 values but the header has 3 columns"):
        read_table(path)


def test_unclosed_quote_is_explained(tmp_path: Path) -> None:
    path = write(tmp_path / "quote.csv", 'a,b\n1,"x\n2,y\n')
    with pytest.raises(DataError, match="never closed"):
        read_table(path)


def test_duplicate_column_names_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.csv", "price,qty,price,qty,id\n1,2,3,4,5\n")
    with pytest.raises(DataError, match="more than one column named 'price', 'qty'"):
        read_table(path)


# -- encodings ---------------------------------------------------------------------------------


def test_latin1_file_is_refused_with_byte_offset_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "latin.csv", "id,name\n1,Zoe\n2,José\n", encoding="latin-1")
    with pytest.raises(DataError) as info:
        read_table(path)
    assert "byte 0xE9 at byte offset 19 (line 3)" in info.value.message
    assert info.value.hint is not None
    assert "UTF-8" in info.value.hint


def test_latin1_file_is_read_with_a_note_when_notes_are_allowed(tmp_path: Path) -> None:
    path = write(tmp_path / "latin.csv", "id,name\n1,Zoe\n2,José\n", encoding="latin-1")
    df, notes = read_table_with_notes(path)
    assert df["name"].tolist() == ["Zoe", "José"]
    assert len(notes) == 1
    assert "read as cp1252" in notes[0]


def test_bad_byte_after_the_first_64_kb_is_still_located(tmp_path: Path) -> None:
    rows = "".join(f"{i},plain\n" for i in range(20_000))
    path = write(tmp_path / "late.csv", "id,word\n" + rows + "20000,café\n", encoding="cp1252")
    with pytest.raises(DataError, match=r"\(line 20002\)"):
        read_table(path)


def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.csv", "\ufeffid,x\n1,2\n")
    assert list(read_table(path).columns) == ["id", "x"]


# -- delimiters --------------------------------------------------------------------------------


def test_semicolon_file_named_csv_is_split_with_a_note(tmp_path: Path) -> None:
    path = write(tmp_path / "euro.csv", "id;price;city\n1;3,5;Lyon\n2;4;Nice\n")
    df, notes = read_table_with_notes(path)
    assert list(df.columns) == ["id", "price", "city"]
    assert df["price"].tolist() == [3.5, 4.0]
    assert notes[0] == "'euro.csv' is separated by semicolons, not commas; it was read that way."
    assert "decimal comma" in notes[1]


def test_tab_file_named_csv_is_split(tmp_path: Path) -> None:
    path = write(tmp_path / "tabs.csv", "a\tb\n1\tx\n2\ty\n")
    assert list(read_table(path).columns) == ["a", "b"]


def test_pipe_separated_txt_is_sniffed(tmp_path: Path) -> None:
    df, notes = read_table_with_notes(write(tmp_path / "d.txt", "a|b\n1|x\n2|y\n"))
    assert list(df.columns) == ["a", "b"]
    assert notes == ["'d.txt' looks separated by pipes (|); it was read that way."]


def test_tsv_keeps_commas_inside_values(tmp_path: Path) -> None:
    df = read_table(write(tmp_path / "d.tsv", "name\tnote\nann\tyes, later\n"))
    assert df["note"].tolist() == ["yes, later"]


def test_single_column_csv_stays_one_column(tmp_path: Path) -> None:
    df, notes = read_table_with_notes(write(tmp_path / "one.csv", "comment\ngreat service\nok\n"))
    assert list(df.columns) == ["comment"]
    assert notes == []


# -- types -------------------------------------------------------------------------------------


def test_leading_zero_ids_stay_text_and_other_columns_are_typed(tmp_path: Path) -> None:
    path = write(
        tmp_path / "typed.csv",
        "customer_id,zip,age,score,active,plan,joined\n"
        "00123,02134,34,0.5,true,basic,2023-01-05\n"
        "00456,90210,,1.25,False,pro,2023-02-11\n"
        "00789,10001,51,2,TRUE,,2023-03-30\n",
    )
    df = read_table(path)
    assert df["customer_id"].tolist() == ["00123", "00456", "00789"]
    assert df["zip"].tolist() == ["02134", "90210", "10001"]
    assert is_text(df["customer_id"])
    assert is_text(df["zip"])
    assert pd.api.types.is_float_dtype(df["age"].dtype)  # a missing value makes it float
    assert df["score"].tolist() == [0.5, 1.25, 2.0]
    assert df["active"].tolist() == [True, False, True]
    assert df["plan"].isna().tolist() == [False, False, True]
    assert is_text(df["joined"])  # dates are left to steadyml.data.roles


def test_unnamed_index_column_gets_a_note(tmp_path: Path) -> None:
    path = tmp_path / "saved.csv"
    pd.DataFrame({"x": [1, 2]}).to_csv(path)  # index=True: an unnamed first column
    _df, notes = read_table_with_notes(path)
    assert any("'Unnamed: 0'" in note and "index=False" in note for note in notes)


def test_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("a,b\n1,x\n")
    assert read_table(path).to_dict("list") == {"a": [1], "b": ["x"]}


# -- parquet -----------------------------------------------------------------------------------


def test_parquet_round_trip_and_nrows(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pd.DataFrame({"id": ["007", "008", "009"], "x": [1.5, 2.5, 3.5]}).to_parquet(path)
    df = read_table(path)
    assert df["id"].tolist() == ["007", "008", "009"]
    assert df["x"].tolist() == [1.5, 2.5, 3.5]
    assert len(read_table(path, nrows=2)) == 2


def test_parquet_without_rows_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.pq"
    pd.DataFrame({"a": pd.Series([], dtype="int64")}).to_parquet(path)
    with pytest.raises(DataError, match="has columns 'a' but no rows"):
        read_table(path)


def test_csv_named_parquet_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_table(write(tmp_path / "d.parquet", "a,b\n1,2\n"))


# -- a property --------------------------------------------------------------------------------

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # hypothesis is a dev extra; the other tests still run without it
    pass
else:
    _names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
    _cells = st.one_of(
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.text(alphabet="abcxyz ,;'\"é-", min_size=1, max_size=6).filter(str.strip),
    )

    @settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(names=st.lists(_names, min_size=1, max_size=5, unique=True), data=st.data())
    def test_any_frame_written_to_csv_reads_back_with_same_rows_and_columns(
        tmp_path: Path, names: list[str], data: st.DataObject
    ) -> None:
        rows = data.draw(st.integers(1, 12))
        frame = pd.DataFrame(
            {n: data.draw(st.lists(_cells, min_size=rows, max_size=rows)) for n in names}
        )
        path = tmp_path / "prop.csv"
        frame.to_csv(path, index=False)
        back = read_table(path)
        assert list(back.columns) == names
        assert len(back) == rows


def test_public_helpers_that_batch_scoring_shares(tmp_path: Path) -> None:
    """Batch reads files its own way; these make it fail the way read_table does."""
    from steadyml.data.loading import existing_file, not_utf8, quote_names

    path = write(tmp_path / "data.csv", "a\n1\n")
    assert existing_file(path) == path
    with pytest.raises(DataError, match="Data file not found") as info:
        existing_file(tmp_path / "dat.csv")
    assert "data.csv" in (info.value.hint or "")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name\ncaf\u00e9\n".encode("latin-1"))
    assert "byte 0xE9 at byte offset 8 (line 2)" in not_utf8(latin, False).message
    assert quote_names([f"c{i}" for i in range(22)]).endswith("'c19' and 2 more")


# -- paths that are not data files ----------------------------------------------------------------


def test_a_symbolic_link_that_loops_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "self.csv").symlink_to(tmp_path / "self.csv")
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    for name in ("self.csv", "a.csv", "self.csv/inside.csv"):
        with pytest.raises(DataError, match="a symbolic link in this path loops") as caught:
            read_table(tmp_path / name, field="file")
        assert caught.value.field == "file" and str(tmp_path / name) in caught.value.message
        assert "Point the link at the real data file" in (caught.value.hint or "")


def test_proc_files_devices_and_pipes_are_refused_before_reading(tmp_path: Path) -> None:
    import os

    with pytest.raises(DataError, match=r"operating system makes up.*under /proc"):
        read_table("/proc/self/status")
    (tmp_path / "env.csv").symlink_to("/proc/self/environ")  # a data-looking name
    with pytest.raises(DataError, match=r"env.csv' \(it leads to '/proc/.*environ'\)"):
        read_table(tmp_path / "env.csv")
    (tmp_path / "zero.csv").symlink_to("/dev/zero")  # endless
    with pytest.raises(DataError, match="is a device, not a data file"):
        read_table(tmp_path / "zero.csv")
    os.mkfifo(tmp_path / "pipe.csv")  # would block for ever
    with pytest.raises(DataError, match="is a pipe, not a data file"):
        read_table_with_notes(tmp_path / "pipe.csv")


@pytest.fixture
def gzip_bomb(tmp_path: Path) -> Path:
    """A gzipped CSV of about 90 KB that unpacks to 70 MB."""
    bomb = tmp_path / "bomb.csv.gz"
    row = b"x" * 10_000 + b",1\n"
    with gzip.open(bomb, "wb", compresslevel=1) as fh:
        fh.write(b"a,b\n")
        fh.write(row * 7_000)
    return bomb


def test_a_gzip_file_that_unpacks_far_beyond_its_size_is_stopped(gzip_bomb: Path) -> None:
    with pytest.raises(DataError, match=r"bomb.csv.gz' unpacks to more than 64.0 MB") as caught:
        read_table(gzip_bomb, field="file")
    assert "gunzip -k 'bomb.csv.gz'" in (caught.value.hint or "")
    assert "max_unpacked_ratio" in (caught.value.hint or "")
    with pytest.raises(DataError, match="unpacks to more than"):
        read_table_with_notes(gzip_bomb)  # the notes path is bounded too


@pytest.mark.slow  # reads 70 MB
def test_a_raised_unpacking_bound_reads_the_whole_file(gzip_bomb: Path) -> None:
    assert len(read_table(gzip_bomb, max_unpacked_ratio=2000)) == 7_000
