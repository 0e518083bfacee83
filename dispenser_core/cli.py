"""The ``dispenser`` command: load files, build and print recaps, candidates and drafts.

Examples::

    dispenser init
    dispenser import roster roster.csv
    dispenser import attlog attlog.dat
    dispenser recap --period 2022-12 --format csv
    dispenser run --period 2025-11          # everything before approval, without Airflow
    dispenser audit verify
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path

from dispenser_core import audit, pipeline, reports
from dispenser_core.exceptions import DispenserError
from dispenser_core.loading import SOURCE_KINDS
from dispenser_core.periods import Period
from dispenser_core.settings import load_settings
from dispenser_core.storage.db import connect

log = logging.getLogger("dispenser")

FORMATS = ("table", "csv", "json")


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _cmd_init(args, settings) -> int:
    pipeline.prepare(settings)
    print(f"Database ready: {settings.database_url}")
    return 0


def _cmd_import(args, settings) -> int:
    engine = pipeline.prepare(settings)
    kind = args.kind.replace("-", "_")
    for path in args.files:
        summary = pipeline.import_file(
            engine, kind, Path(path), source=args.source, synced_until=args.synced_until
        )
        print(summary.describe())
        if summary.rows_rejected and not summary.already_loaded:
            _show_rejections(engine, summary.batch_id)
    return 0


def _show_rejections(engine, batch_id: int, shown: int = 5) -> None:
    with connect(engine) as conn:
        rows = reports.rejected_rows(conn, batch_id, limit=shown)
    for row in rows:
        print(f"  line {row['line_number']}: {row['reason']} ({row['detail']})")
    print(f"  all rejected rows: dispenser rejected --batch {batch_id}")


def _local_time(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a local time like 2025-12-01T06:00"
        ) from err


def _cmd_recap(args, settings) -> int:
    engine = pipeline.prepare(settings, create=False)
    if args.rebuild:
        pipeline.recap(engine, args.period)
    else:
        pipeline.ensure_recap(engine, args.period)
    with connect(engine) as conn:
        rows = reports.recap_rows(conn, args.period, tuple(args.unit or ()))
    if not rows:
        print(
            f"No employee works in {args.period} in this database; load the roster and "
            "attendance first (dispenser import roster FILE, dispenser import attlog FILE).",
            file=sys.stderr,
        )
    if args.by_unit:
        rows = reports.unit_rows(rows)
    headers = (
        reports.RECAP_HEADERS_ID | {"employees": "PEGAWAI"}
        if args.by_unit
        else reports.RECAP_HEADERS_ID
    )
    sys.stdout.write(reports.render(rows, args.format, headers, columns=reports.RECAP_FIELDS))
    return 0


def _cmd_candidates(args, settings) -> int:
    engine = pipeline.prepare(settings, create=False)
    pipeline.ensure_recap(engine, args.period)
    pipeline.find_candidates(engine, args.period, settings.appreciation_top_per_unit)
    with connect(engine) as conn:
        rows = reports.candidate_report_rows(conn, args.period)
    if args.kind:
        rows = [r for r in rows if r["kind"] == args.kind]
    sys.stdout.write(reports.render(rows, args.format))
    return 0


def _cmd_drafts(args, settings) -> int:
    engine = pipeline.prepare(settings, create=False)
    with connect(engine) as conn:
        rows = reports.draft_rows(conn, args.status)
    sys.stdout.write(reports.render(rows, args.format))
    if args.format == "table":
        print(reports.pending_summary(rows if not args.status else []))
    return 0


def _cmd_run(args, settings) -> int:
    engine = pipeline.prepare(settings)
    drafts = pipeline.run_until_approval(engine, settings, args.period, actor="cli")
    with connect(engine) as conn:
        rows = reports.recap_rows(conn, args.period)
        sys.stdout.write(reports.render(reports.unit_rows(rows), "table", reports.RECAP_HEADERS_ID))
        sys.stdout.write(reports.render(reports.candidate_report_rows(conn, args.period), "table"))
    print(f"Drafts saved for {args.period}: {drafts or 'none'} (approve them in Airflow).")
    return 0


def _cmd_audit(args, settings) -> int:
    engine = pipeline.prepare(settings, create=False)
    with connect(engine) as conn:
        if args.action == "verify":
            report = audit.verify_chain(conn)
            if report.intact:
                print(f"Audit log intact: {report.rows_checked} rows checked.")
                return 0
            print(
                f"Audit log BROKEN at row {report.first_broken_seq}: {report.problem}. "
                f"{report.rows_checked} rows before it are intact."
            )
            return 1
        rows = [
            {
                k: r[k]
                for k in ("seq", "occurred_at", "actor", "action", "entity", "entity_id", "details")
            }
            for r in audit.entries(conn)
        ]
        if args.format != "json":
            for row in rows:
                row["details"] = json.dumps(row["details"], ensure_ascii=False, sort_keys=True)
    sys.stdout.write(reports.render(rows, args.format))
    return 0


def _cmd_rejected(args, settings) -> int:
    engine = pipeline.prepare(settings, create=False)
    with connect(engine) as conn:
        rows = reports.rejected_rows(conn, args.batch)
    sys.stdout.write(reports.render(rows, args.format))
    return 0


def _cmd_sample_city(args, settings) -> int:
    from dispenser_core.sample_city import write_sample_city

    written = write_sample_city(Path(args.out), seed=args.seed)
    print(f"Sample city written to {args.out}: " + ", ".join(p.name for p in written))
    return 0


def _cmd_notification_service(args, settings) -> int:
    from dispenser_core.local.notification_service import make_server

    server = make_server(args.port, args.token, Path(args.journal) if args.journal else None)
    print(f"Notification service on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _cmd_demo(args, settings) -> int:
    from dispenser_core.local.demo import run_demo

    return run_demo(settings, port=args.port, period=args.period, keep_running=not args.no_wait)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dispenser", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step (debug)")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("init", help="create the database schema").set_defaults(run=_cmd_init)

    imports = commands.add_parser(
        "import",
        help="load a units, roster, absences, attlog, punch-export (CSV/XLSX) or calendar file",
    )
    imports.add_argument(
        "kind",
        choices=(
            *(kind.replace("_", "-") for kind in SOURCE_KINDS),
            "calendar",
            "schedules",
            "shifts",
            "schedule-assignments",
        ),
    )
    imports.add_argument("files", nargs="+")
    imports.add_argument(
        "--source",
        help="attlog, punch-export: the terminal or office the punches come from "
        "(default: one source for all files)",
    )
    imports.add_argument(
        "--synced-until",
        type=_local_time,
        help="attlog, punch-export: local time up to which the source delivered everything "
        "(default: the end of the file's last day)",
    )
    imports.set_defaults(run=_cmd_import)

    recap = commands.add_parser("recap", help="print the recap of a month or a year")
    recap.add_argument("--period", type=_period, required=True, help="2025-11 or 2025")
    recap.add_argument("--format", choices=FORMATS, default="table")
    recap.add_argument("--unit", action="append", help="only this unit (repeatable)")
    recap.add_argument("--by-unit", action="store_true", help="one row per unit")
    recap.add_argument("--rebuild", action="store_true", help="recompute even if up to date")
    recap.set_defaults(run=_cmd_recap)

    found = commands.add_parser("candidates", help="print violation and appreciation candidates")
    found.add_argument("--period", type=_period, required=True)
    found.add_argument("--kind", choices=("violation", "appreciation"))
    found.add_argument("--format", choices=FORMATS, default="table")
    found.set_defaults(run=_cmd_candidates)

    drafts = commands.add_parser("drafts", help="list drafts and the pending summary")
    drafts.add_argument("--status")
    drafts.add_argument("--format", choices=FORMATS, default="table")
    drafts.set_defaults(run=_cmd_drafts)

    run = commands.add_parser("run", help="load the inbox and run everything before approval")
    run.add_argument("--period", type=_period, required=True)
    run.set_defaults(run=_cmd_run)

    rejected = commands.add_parser("rejected", help="rows that loading kept aside, with reasons")
    rejected.add_argument("--batch", type=int, help="only this batch (see the import output)")
    rejected.add_argument("--format", choices=FORMATS, default="table")
    rejected.set_defaults(run=_cmd_rejected)

    audit_cmd = commands.add_parser("audit", help="show or verify the audit log")
    audit_cmd.add_argument("action", choices=("verify", "show"))
    audit_cmd.add_argument("--format", choices=FORMATS, default="table")
    audit_cmd.set_defaults(run=_cmd_audit)

    sample = commands.add_parser("sample-city", help="write the bundled sample city's files")
    sample.add_argument("--out", required=True)
    sample.add_argument("--seed", type=int, default=2025)
    sample.set_defaults(run=_cmd_sample_city)

    service = commands.add_parser(
        "notification-service", help="run the local stand-in of the ASN notification gateway"
    )
    service.add_argument("--port", type=int, default=8765)
    service.add_argument("--token", default="")
    service.add_argument("--journal", help="append every received notice to this JSONL file")
    service.set_defaults(run=_cmd_notification_service)

    demo = commands.add_parser(
        "demo", help="sample city + Airflow on 127.0.0.1, waiting for approval"
    )
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--period", type=_period, default=Period(2025, 11))
    demo.add_argument("--no-wait", action="store_true", help="stop once the approval waits")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The command prints what it did; the loader's own line is for task logs.
    if not args.verbose:
        logging.getLogger("dispenser_core.loading").setLevel(logging.WARNING)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.run(args, load_settings())
    except DispenserError as err:
        print(f"dispenser: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
