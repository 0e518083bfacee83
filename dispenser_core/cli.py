"""The ``dispenser`` command: load files, build and print recaps, candidates and drafts.

Examples::

    dispenser init
    dispenser import roster roster.csv
    dispenser import attlog attlog.dat
    dispenser recap --period 2022-12 --format csv
    dispenser recap --period 2025 --format xlsx --out rekap-2025.xlsx
    dispenser units                         # the unit codes --unit accepts
    dispenser run --period 2025-11          # everything before approval, without Airflow
    dispenser audit verify
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from dispenser_core import audit, exports, pipeline, reports
from dispenser_core.dashboard import RecapFilter
from dispenser_core.drafts import STATUSES
from dispenser_core.exceptions import DispenserError
from dispenser_core.loading import SOURCE_KINDS, declare_synced
from dispenser_core.periods import Period
from dispenser_core.recap import recap_is_current
from dispenser_core.settings import load_settings
from dispenser_core.storage.db import connect

log = logging.getLogger("dispenser")

FORMATS = ("table", "csv", "json")
# A workbook is a file, not text: written with --out, or to a stdout that is not a terminal.
FILE_FORMATS = (*FORMATS, "xlsx")
# What a shell reports for a program ended by a closed pipe: 128 + SIGPIPE.
EXIT_BROKEN_PIPE = 141


class ArgumentRefused(DispenserError):
    """An argument names a unit that does not exist or a period that has not started."""


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _cmd_init(args, settings) -> int:
    pipeline.prepare(settings)
    print(f"Database ready: {settings.database_url}")
    return 0


def _refuse_future_sync(synced_until: dt.datetime | None, settings) -> None:
    now = dt.datetime.now(ZoneInfo(settings.timezone)).replace(tzinfo=None)
    if synced_until is not None and synced_until > now:
        raise ArgumentRefused(
            f"--synced-until {synced_until:%Y-%m-%dT%H:%M} is after now ({now:%Y-%m-%dT%H:%M} in "
            f"{settings.timezone}): a source cannot have delivered what has not happened. Give "
            "the time up to which it delivered everything, or leave the option out."
        )


def _cmd_import(args, settings) -> int:
    _refuse_future_sync(args.synced_until, settings)
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


def _today(settings) -> dt.date:
    return dt.datetime.now(ZoneInfo(settings.timezone)).date()


def _refuse_unstarted(period: Period, today: dt.date) -> None:
    """The rule of the "Analisis Disiplin" form: a period is judged only once it has begun."""
    if not period.has_started(today):
        raise ArgumentRefused(
            f"Period {period} has not started yet (today is {today} in the agency's time zone): "
            "choose a month or year that is running or over."
        )


def _refuse_unknown_units(engine, wanted: tuple[str, ...]) -> None:
    if not wanted:
        return
    with connect(engine) as conn:
        known = reports.unit_names(conn)
    unknown = sorted(set(wanted) - set(known))
    if unknown and not known:
        raise ArgumentRefused(
            f"Unknown unit {', '.join(unknown)}: no unit is loaded yet; load them first "
            "(dispenser import units FILE)."
        )
    if unknown:
        raise ArgumentRefused(
            f"Unknown unit {', '.join(unknown)}: the known unit codes are "
            f"{', '.join(sorted(known))} (dispenser units lists them with their names)."
        )


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def _step(what: str) -> Iterator[None]:
    """Say on stderr that a long piece of work starts, and how long it took."""
    started = time.monotonic()
    _progress(f"{what}...")
    yield
    _progress(f"{what}: done in {time.monotonic() - started:.1f} s.")


def _refuse_binary_to_terminal(args) -> None:
    # Checked before any work, so a long rebuild is not wasted on output that cannot be shown.
    if args.format == "xlsx" and not args.out and sys.stdout.isatty():
        raise ArgumentRefused(
            "--format xlsx writes a binary workbook: give --out FILE.xlsx, or redirect the "
            "output to a file (> rekap.xlsx)."
        )


def _write(args, content: str | bytes) -> None:
    """The command's output to --out, or to stdout (a workbook only if stdout is no terminal)."""
    if args.out:
        path = Path(args.out)
        try:
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        except OSError as err:
            raise ArgumentRefused(
                f"Cannot write {path} ({err.strerror}): choose --out in a folder that exists "
                "and that you may write to."
            ) from err
        _progress(f"Wrote {path} ({path.stat().st_size} bytes).")
    elif isinstance(content, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
    else:
        sys.stdout.write(content)


def _rendered(
    rows: list[dict],
    fmt: str,
    headers: dict[str, str] | None = None,
    *,
    sheet: str,
    columns: tuple[str, ...] = (),
) -> str | bytes:
    if fmt == "xlsx":
        return exports.table_xlsx(sheet, rows, headers)
    return reports.render(rows, fmt, headers, columns=columns)


def _bring_recap_up_to_date(engine, period: Period, rebuild: bool) -> None:
    """Build the recap unless it is newer than every load (or ``rebuild`` asks anyway); this
    recomputes daily status from January 1st, which takes minutes for a city."""
    if not rebuild:
        with connect(engine) as conn:
            if recap_is_current(conn, period):
                return
    months = period.end.month
    with _step(
        f"Building the recap of {period} from the daily status of {period.year_start} .. "
        f"{period.end} ({months} month{'s' if months > 1 else ''})"
    ):
        pipeline.recap(engine, period)


def _recap_workbook(conn, args) -> bytes:
    """The recap as on the "Rekapitulasi Kehadiran" page: a summary and a per-day sheet."""
    wanted = RecapFilter(
        period_kind=args.period.kind,
        period_from=str(args.period),
        period_to=str(args.period),
        units=tuple(args.unit or ()),
        sort="kode_opd",
    )
    with _step(f"Writing the recap of {args.period} as a workbook"):
        return exports.recap_xlsx(conn, wanted)


def _cmd_recap(args, settings) -> int:
    _refuse_unstarted(args.period, _today(settings))
    _refuse_binary_to_terminal(args)
    engine = pipeline.prepare(settings, create=False)
    _refuse_unknown_units(engine, tuple(args.unit or ()))
    _bring_recap_up_to_date(engine, args.period, args.rebuild)
    output = None
    with connect(engine) as conn:
        rows = reports.recap_rows(conn, args.period, tuple(args.unit or ()))
        if args.format == "xlsx" and not args.by_unit:
            output = _recap_workbook(conn, args)
    if not rows:
        print(
            f"No employee works in {args.period} in this database; load the roster and "
            "attendance first (dispenser import roster FILE, dispenser import attlog FILE).",
            file=sys.stderr,
        )
    headers = reports.RECAP_HEADERS_ID
    if args.by_unit:
        rows, headers = reports.unit_rows(rows), reports.UNIT_HEADERS_ID
    if output is None:
        output = _rendered(rows, args.format, headers, sheet="Rekap", columns=reports.RECAP_FIELDS)
    _write(args, output)
    return 0


def _cmd_candidates(args, settings) -> int:
    _refuse_unstarted(args.period, _today(settings))
    _refuse_binary_to_terminal(args)
    engine = pipeline.prepare(settings, create=False)
    _bring_recap_up_to_date(engine, args.period, rebuild=False)
    pipeline.find_candidates(engine, args.period, settings.appreciation_top_per_unit)
    with connect(engine) as conn:
        rows = reports.candidate_report_rows(conn, args.period)
    if args.kind:
        rows = [r for r in rows if r["kind"] == args.kind]
    _write(args, _rendered(rows, args.format, sheet="Kandidat"))
    return 0


def _cmd_drafts(args, settings) -> int:
    _refuse_binary_to_terminal(args)
    engine = pipeline.prepare(settings, create=False)
    with connect(engine) as conn:
        every_draft = reports.draft_rows(conn)
    rows = [r for r in every_draft if not args.status or r["status"] == args.status]
    # A workbook shows times as the table does (local, the zone in the header): Excel has no
    # time zones.
    shown_as = "table" if args.format == "xlsx" else args.format
    shown, headers = reports.local_draft_rows(rows, settings.timezone, shown_as)
    _write(args, _rendered(shown, args.format, headers, sheet="Draft"))
    if args.format == "table":
        print(reports.pending_summary(every_draft, settings.timezone))
    return 0


def _cmd_units(args, settings) -> int:
    engine = pipeline.prepare(settings, create=False)
    with connect(engine) as conn:
        rows = [{"opd_code": c, "name": n} for c, n in sorted(reports.unit_names(conn).items())]
    sys.stdout.write(reports.render(rows, args.format, reports.UNIT_LIST_HEADERS_ID))
    return 0


def _cmd_run(args, settings) -> int:
    _refuse_unstarted(args.period, _today(settings))
    engine = pipeline.prepare(settings)
    drafts = pipeline.run_until_approval(engine, settings, args.period, actor="cli")
    with connect(engine) as conn:
        rows = reports.recap_rows(conn, args.period)
        sys.stdout.write(reports.render(reports.unit_rows(rows), "table", reports.UNIT_HEADERS_ID))
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
        if args.batch is not None and not reports.batch_exists(conn, args.batch):
            raise ArgumentRefused(
                f"There is no batch {args.batch}; the import output names each file's batch."
            )
        rows = reports.rejected_rows(conn, args.batch)
    sys.stdout.write(reports.render(rows, args.format))
    return 0


def _cmd_sample_city(args, settings) -> int:
    from dispenser_core.sample_city import write_sample_city

    written = write_sample_city(Path(args.out), seed=args.seed)
    print(f"Sample city written to {args.out}: " + ", ".join(p.name for p in written))
    return 0


def _cmd_pull(args, settings) -> int:
    overrides = {"base_url": args.url} if args.url else {}
    config = pipeline.api_config(settings, **overrides)
    if config is None:
        raise ArgumentRefused(
            "No attendance API is configured: give --url, or set DISPENSER_API_URL (and "
            "DISPENSER_API_TOKEN, or DISPENSER_API_LOGIN and DISPENSER_API_PASSWORD)."
        )
    engine = pipeline.prepare(settings)
    for summary in pipeline.pull_api(engine, settings, config, source=args.source):
        print(summary.describe())
        if summary.rows_rejected and not summary.already_loaded:
            _show_rejections(engine, summary.batch_id)
    return 0


def _cmd_sync_source(args, settings) -> int:
    _refuse_future_sync(args.synced_until, settings)
    engine = pipeline.prepare(settings, create=False)
    with connect(engine) as conn:
        print(declare_synced(conn, args.source, args.synced_until).describe())
    return 0


def _cmd_attendance_api(args, settings) -> int:
    from dispenser_core.local.attendance_api import make_server

    server = make_server(args.port, args.token, args.login, args.password)
    if args.data:
        records = json.loads(Path(args.data).read_text(encoding="utf-8"))
        server.state.load(records)
    print(f"Attendance API on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
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

    _refuse_unstarted(args.period, _today(settings))
    return run_demo(settings, port=args.port, period=args.period, keep_running=not args.no_wait)


def _cmd_cluster(args, settings) -> int:
    from dispenser_core.local import cluster

    home = settings.data_dir / "cluster"
    if args.action == "stop":
        ended = cluster.stop_recorded(home)
        print(f"Stopped: {', '.join(ended)}" if ended else f"No cluster runs from {home}.")
        return 0
    print(f"Starting the cluster from {home}; it takes a minute or two.", flush=True)
    started = cluster.start_cluster(home, args.port)
    print(
        f"Cluster up: Airflow on {started.url} (CeleryExecutor, {started.workers} workers), "
        f"Dispenser database {started.database_name}.\n"
        f"Users and passwords: {home / 'passwords.json'}. Logs: {home}/*.log.\n"
        "The DAGs start paused: unpause them in the UI. Stop with `make cluster-stop`.",
        flush=True,
    )
    return 0


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
    recap.add_argument("--format", choices=FILE_FORMATS, default="table")
    recap.add_argument(
        "--out", help="write to this file instead of stdout (xlsx on a terminal needs it)"
    )
    recap.add_argument("--unit", action="append", help="only this unit (repeatable)")
    recap.add_argument("--by-unit", action="store_true", help="one row per unit")
    recap.add_argument("--rebuild", action="store_true", help="recompute even if up to date")
    recap.set_defaults(run=_cmd_recap)

    found = commands.add_parser("candidates", help="print violation and appreciation candidates")
    found.add_argument("--period", type=_period, required=True)
    found.add_argument("--kind", choices=("violation", "appreciation"))
    found.add_argument("--format", choices=FILE_FORMATS, default="table")
    found.add_argument(
        "--out", help="write to this file instead of stdout (xlsx on a terminal needs it)"
    )
    found.set_defaults(run=_cmd_candidates)

    drafts = commands.add_parser("drafts", help="list drafts and the pending summary")
    drafts.add_argument("--status", choices=STATUSES, help="only drafts in this state")
    drafts.add_argument("--format", choices=FILE_FORMATS, default="table")
    drafts.add_argument(
        "--out", help="write to this file instead of stdout (xlsx on a terminal needs it)"
    )
    drafts.set_defaults(run=_cmd_drafts)

    units = commands.add_parser("units", help="list the unit codes (OPD) and their names")
    units.add_argument("--format", choices=FORMATS, default="table")
    units.set_defaults(run=_cmd_units)

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

    pull = commands.add_parser(
        "pull", help="pull roster, absences and new punches from the attendance API"
    )
    pull.add_argument("--url", help="the API's base URL (default: DISPENSER_API_URL)")
    pull.add_argument("--source", default="api", help="the name its punches are kept under")
    pull.set_defaults(run=_cmd_pull)

    sync = commands.add_parser(
        "sync-source",
        help="declare that a punch source has delivered everything up to a time (no new file)",
    )
    sync.add_argument("--source", required=True, help="the source named at import")
    sync.add_argument("--synced-until", type=_local_time, required=True)
    sync.set_defaults(run=_cmd_sync_source)

    api = commands.add_parser(
        "attendance-api", help="run the local stand-in of a city's attendance API"
    )
    api.add_argument("--port", type=int, default=8766)
    api.add_argument("--token", default="", help="bearer token it requires")
    api.add_argument("--login", default="", help="or basic credentials")
    api.add_argument("--password", default="")
    api.add_argument("--data", help="JSON file of employees, absences and punches to serve")
    api.set_defaults(run=_cmd_attendance_api)

    service = commands.add_parser(
        "notification-service", help="run the local stand-in of the ASN notification gateway"
    )
    service.add_argument("--port", type=int, default=8765)
    service.add_argument("--token", default="")
    service.add_argument("--journal", help="append every received notice to this JSONL file")
    service.set_defaults(run=_cmd_notification_service)

    cluster = commands.add_parser(
        "cluster",
        help="start or stop the production topology on this machine (Celery workers, Redis, "
        "PostgreSQL)",
    )
    cluster.add_argument("action", choices=("start", "stop"))
    cluster.add_argument("--port", type=int, default=8790, help="the Airflow UI and API")
    cluster.set_defaults(run=_cmd_cluster)

    demo = commands.add_parser(
        "demo", help="sample city + Airflow on 127.0.0.1, waiting for approval"
    )
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--period", type=_period, default=Period(2025, 11))
    demo.add_argument("--no-wait", action="store_true", help="stop once the approval waits")
    demo.set_defaults(run=_cmd_demo)
    return parser


def _configure_logging(verbose: bool) -> None:
    # The command prints what it did; the loader's own line is for task logs, and
    # great_expectations' info lines (hundreds a run) say nothing a user can act on.
    level = logging.NOTSET if verbose else logging.WARNING
    for name in ("dispenser_core.loading", "great_expectations"):
        logging.getLogger(name).setLevel(level)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _silence_closed_stdout() -> None:
    # Python flushes stdout again at exit; pointing it at devnull keeps that flush from
    # printing a second BrokenPipeError.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        status = args.run(args, load_settings())
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # The reader of a pipe stopped early (`dispenser drafts | head -1`): nothing is wrong.
        _silence_closed_stdout()
        return EXIT_BROKEN_PIPE
    except DispenserError as err:
        print(f"dispenser: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
