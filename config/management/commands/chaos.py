"""`manage.py chaos`: prove on a running deployment that no paid order is lost and no customer
is charged twice without a refund (docs/operations.md, "Chaos check"). Exit 0 when the promise
HOLDS, 1 when it is BROKEN."""

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.chaos import disruptions
from config.chaos.channels import NotSimulated, channel_doors, default_urls, shortest_expires_in
from config.chaos.customers import Shop
from config.chaos.doors import Answers
from config.chaos.report import write_report
from config.chaos.run import Options, Run, check, run_chaos, settle
from config.chaos.timeline import Timeline
from config.chaos.verdict import Verdict


class Command(BaseCommand):
    help = "Customers and a misbehaving channel against this deployment; then HOLDS or BROKEN."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=20)
        parser.add_argument("--kill-workers", action="store_true", help="SIGKILL q2 workers")
        parser.add_argument(
            "--stop-redis", action="store_true", help="stop the embedded Redis for a while"
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=30,
            help="seconds over which customers arrive while the channel misbehaves",
        )
        parser.add_argument(
            "--settle-seconds",
            type=float,
            default=600,
            help="how long the system may take to settle before the verdict is BROKEN",
        )
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--channels",
            default="sandbox,sandbox_card",
            help="the channel codes customers pay on, in turn, switching to the next: the "
            "sandbox's and the emulators' (e.g. sandbox,wechatpay,alipay)",
        )
        parser.add_argument("--web", default=settings.PUBLIC_BASE_URL)
        urls = default_urls()
        parser.add_argument("--sandbox-url", default=urls["sandbox"])
        parser.add_argument("--wechatpay-url", default=urls["wechatpay"])
        parser.add_argument("--alipay-url", default=urls["alipay"])
        parser.add_argument("--api-key", default=settings.DEMO_API_KEY)
        parser.add_argument(
            "--check-only",
            type=Path,
            metavar="RUN_JSON",
            help="judge an earlier run again (its run.json) without running customers",
        )

    def handle(self, *args, **options):
        if options["customers"] < 1 or options["duration"] < 0:
            raise CommandError("--customers must be at least 1 and --duration not negative")
        codes = [code.strip() for code in options["channels"].split(",") if code.strip()]
        if len(set(codes)) < 2 or len(set(codes)) != len(codes):
            raise CommandError(
                "--channels: two channel codes at least, each once (customers switch)"
            )
        urls = {kind: options[f"{kind}_url"] for kind in ("sandbox", "wechatpay", "alipay")}
        try:
            channels = channel_doors(codes, urls)
        except NotSimulated as refusal:
            raise CommandError(str(refusal)) from refusal
        if options["stop_redis"]:
            try:
                disruptions.check_redis_can_stop()
            except disruptions.CannotStopRedis as refusal:
                raise CommandError(str(refusal)) from refusal
        name = datetime.now(UTC).strftime("chaos-%Y%m%d-%H%M%S-%f")
        directory = settings.VAR_DIR / "chaos" / name
        directory.mkdir(parents=True)
        shop = Shop(
            web=options["web"],
            api_key=options["api_key"],
            channels=channels,
            answers=Answers(),
            run=name,
            timeline=Timeline(),
            expires_in={code: shortest_expires_in(code) for code in codes},
            clock_skew=timedelta(seconds=settings.CHANNEL_CLOCK_SKEW_SECONDS),
        )
        if options["check_only"]:
            verdict = check(shop, Run.load(options["check_only"]))
        else:
            verdict = self._run(shop, options, directory)
        report = write_report(directory / "report.html", verdict, shop.timeline)
        self._print(verdict, shop.timeline, report)
        if not verdict.holds:
            sys.exit(1)

    def _run(self, shop: Shop, options: dict, directory: Path) -> Verdict:
        seed = options["seed"] if options["seed"] is not None else int(shop.timeline.started)
        run_options = Options(
            customers=options["customers"],
            kill_workers=options["kill_workers"],
            stop_redis=options["stop_redis"],
            window_seconds=options["duration"],
            settle_seconds=options["settle_seconds"],
            seed=seed,
            channel_timeout=settings.CHANNEL_HTTP_TIMEOUT_SECONDS,
        )
        self.stdout.write(
            f"{shop.run}: {run_options.customers} customers on {', '.join(shop.channels)},"
            f" seed {seed}; orders that expire live {shop.expires_in} s"
        )
        run = run_chaos(shop, run_options)
        verdict = settle(shop, run, run_options)
        run.save(directory / "run.json")
        return verdict

    def _print(self, verdict: Verdict, timeline: Timeline, report: Path) -> None:
        for moment in timeline.moments:
            self.stdout.write(f"  {moment.at:7.1f} s  {moment.kind:<10} {moment.text}")
        for name, value in verdict.figures.items():
            self.stdout.write(f"  {name:<32} {value}")
        for note in verdict.undecidable:
            self.stdout.write(f"  ~ {note}")
        for violation in verdict.violations:
            self.stdout.write(f"  ! {violation}")
        self.stdout.write(f"report: {report}")
        self.stdout.write("HOLDS" if verdict.holds else "BROKEN")
