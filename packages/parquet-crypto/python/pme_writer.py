"""Writes Parquet in Cleanroom's encrypted profile, streaming, with pyarrow's Parquet Modular Encryption.

Input (stdin, or --input for Parquet, which needs random access) is CSV, JSON lines or Parquet; it is converted to
the declared schema batch by batch and written in row groups of --row-group-size rows, each column chunk a single
data page (the DuckDB reader's limit, see docs/parquet-encryption.md). With a key, the file is encrypted uniformly:
AES_GCM_V1, encrypted footer, no AAD prefix. The 32-byte key arrives on file descriptor 3, never in argv or the
environment. On success one JSON line {"rows", "rowGroups"} goes to stdout; on failure a message goes to stderr and
the exit status is 2 for bad input, 1 otherwise, and the partial output is removed.

Started with --args-from-stdin alone, the writer imports pyarrow and then waits for its arguments, a JSON list of
strings on the first line of stdin (the input follows it), so that a writer started ahead of need starts writing at
once. End of input before that line is not an error: the writer was not needed, and it exits quietly.
"""
import argparse
import json
import os
import sys
import traceback

import pyarrow as pa
# Casting loads pyarrow.compute lazily, a tenth of a second: imported here, a prestarted writer has paid it already.
import pyarrow.compute  # noqa: F401
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe

TYPES = {
    "string": pa.string(),
    "integer": pa.int32(),
    "long": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
# One page per column chunk: pages end only at the row-group boundary.
HUGE = 1 << 30


class BadInput(Exception):
    pass


def schema_of(fields):
    return pa.schema([pa.field(f["name"], TYPES[f["type"]], nullable=True) for f in fields])


def batches(args, schema):
    if args.format == "csv":
        names = None if args.csv_header else schema.names
        reader = pcsv.open_csv(
            sys.stdin.buffer,
            read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 22),
            convert_options=pcsv.ConvertOptions(column_types=schema, include_columns=schema.names),
        )
        for batch in reader:
            yield batch
    elif args.format == "jsonl":
        # JSON has no date type: dates and timestamps arrive as text and are cast with the rest in conform().
        textual = pa.schema([pa.field(f.name, pa.string()) if pa.types.is_temporal(f.type) else f for f in schema])
        reader = pjson.open_json(
            sys.stdin.buffer,
            read_options=pjson.ReadOptions(block_size=1 << 22),
            parse_options=pjson.ParseOptions(explicit_schema=textual, unexpected_field_behavior="ignore"),
        )
        for batch in reader:
            yield batch
    else:
        source = pq.ParquetFile(args.input)
        for batch in source.iter_batches(batch_size=65536, columns=schema.names):
            yield batch


def conform(batch, schema):
    try:
        return pa.Table.from_batches([batch]).select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError) as error:
        raise BadInput(f"the input does not match the declared schema: {error}") from error


def command_line():
    if sys.argv[1:] != ["--args-from-stdin"]:
        return sys.argv[1:]
    line = sys.stdin.buffer.readline()
    if not line:
        sys.exit(0)
    try:
        args = json.loads(line)
    except ValueError as error:
        raise BadInput(f"the writer's arguments are not JSON: {error}") from error
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise BadInput("the writer's arguments must be a JSON list of strings")
    return args


def main():
    argv = command_line()
    parser = argparse.ArgumentParser()
    parser.add_argument("--format", choices=["csv", "jsonl", "parquet"], required=True)
    parser.add_argument("--schema", required=True, help="JSON list of {name, type}")
    parser.add_argument("--output", required=True)
    parser.add_argument("--input", help="Parquet input file")
    parser.add_argument("--csv-header", action="store_true")
    parser.add_argument("--encrypt", action="store_true", help="read the 32-byte key from fd 3")
    parser.add_argument("--row-group-size", type=int, default=100_000)
    args = parser.parse_args(argv)
    schema = schema_of(json.loads(args.schema))
    properties = None
    if args.encrypt:
        with os.fdopen(3, "rb") as key_pipe:
            key = key_pipe.read()
        if len(key) != 32:
            raise BadInput("the data key must be 32 bytes")
        properties = pe.create_encryption_properties(key, aad_prefix=None, encryption_algorithm="AES_GCM_V1")
    rows = 0
    groups = 0
    pending = []
    pending_rows = 0
    writer = pq.ParquetWriter(
        args.output, schema, compression="zstd", encryption_properties=properties,
        data_page_size=HUGE, dictionary_pagesize_limit=HUGE, max_rows_per_page=HUGE, data_page_version="1.0",
    )
    try:
        def flush():
            nonlocal pending, pending_rows, rows, groups
            if pending_rows == 0:
                return
            table = pa.concat_tables(pending)
            writer.write_table(table, row_group_size=args.row_group_size)
            rows += table.num_rows
            groups += -(-table.num_rows // args.row_group_size)
            pending, pending_rows = [], 0

        for batch in batches(args, schema):
            table = conform(batch, schema)
            pending.append(table)
            pending_rows += table.num_rows
            if pending_rows >= args.row_group_size:
                whole = pa.concat_tables(pending)
                cut = (whole.num_rows // args.row_group_size) * args.row_group_size
                pending, pending_rows = [whole.slice(0, cut)], cut
                flush()
                rest = whole.slice(cut)
                pending, pending_rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
        flush()
        writer.close()
    except BaseException:
        writer.close()
        os.unlink(args.output)
        raise
    print(json.dumps({"rows": rows, "rowGroups": groups}))


def finish(status):
    """Ends the process without the interpreter's finalization, whose teardown of pyarrow can abort it.

    A streaming reader's background thread may still be alive when the interpreter tears pyarrow down, and its
    destructor then calls std::terminate ("terminate called without an active exception", SIGABRT) after the file was
    written in full (apache/arrow#34314; seen here about once in ten writes by a writer that had waited). By this point
    the output file is closed or removed, so only the standard streams need flushing.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    try:
        main()
        code = 0
    except BadInput as error:
        print(str(error), file=sys.stderr)
        code = 2
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        print(f"the input is malformed: {error}", file=sys.stderr)
        code = 2
    except SystemExit as leaving:
        # argparse's usage errors (2), and a prestarted writer that was never needed (0).
        code = leaving.code if isinstance(leaving.code, int) else (0 if leaving.code is None else 1)
    except BaseException:  # anything else is the writer's own failure, reported with its traceback
        traceback.print_exc()
        code = 1
    finish(code)
