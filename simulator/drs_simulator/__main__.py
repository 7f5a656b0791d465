"""Command line: `python -m drs_simulator serve|estate`."""
from __future__ import annotations

import argparse
import math
import sys

import yaml


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drs_simulator",
                                     description="A local AWS with Elastic Disaster Recovery, on one endpoint.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve every AWS service on one loopback endpoint")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000, help="0 picks a free port (printed on start)")
    serve.add_argument("--estate", help="estate file (YAML) to build at start-up")
    serve.add_argument("--time-scale", type=float, default=1.0,
                       help="simulated seconds per real second (default 1: real time)")
    serve.add_argument("--quiet", action="store_true", help="do not log each HTTP request")
    serve.add_argument("--iam", choices=("off", "enforce"), default=None,
                       help="authorise every request against the caller's IAM policies (default: off, or the "
                            "DRS_SIMULATOR_IAM environment variable)")
    estate = sub.add_parser("estate", help="print a generated estate (YAML) of any size")
    estate.add_argument("--servers", type=int, required=True)
    estate.add_argument("--waves", type=int, required=True)
    estate.add_argument("--name")
    estate.add_argument("--primary-region", default="us-east-1")
    estate.add_argument("--recovery-region", default="us-west-2")
    estate.add_argument("--output", "-o", help="write to this file instead of standard output")
    args = parser.parse_args(argv)
    if args.command == "estate":
        return _estate(args)
    return _serve(args)


def _estate(args) -> int:
    from .estate import EstateError, generate_estate

    try:
        doc = generate_estate(args.servers, args.waves, args.name, args.primary_region, args.recovery_region)
    except EstateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = yaml.safe_dump(doc, sort_keys=False)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _serve(args) -> int:
    if not math.isfinite(args.time_scale) or args.time_scale <= 0:  # checked before the slow moto import
        print("error: --time-scale must be a positive, finite number", file=sys.stderr)
        return 2

    import logging

    from werkzeug.serving import make_server

    from .estate import EstateError, load_estate
    from .server import Runtime, SimulatorApp

    runtime = Runtime(time_scale=args.time_scale,
                      iam_enforce=None if args.iam is None else args.iam == "enforce")
    # The application installs the simulator's changes to moto's models (EC2's defaults among them): build it
    # before the estate, so that the estate's instances are made with them.
    app = SimulatorApp(runtime)
    if args.estate:
        try:
            with open(args.estate, encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
            load_estate(runtime, data, source=args.estate)
        except OSError as exc:
            print(f"error: cannot read estate file: {exc}", file=sys.stderr)
            return 2
        except yaml.YAMLError as exc:
            print(f"error: estate file {args.estate} is not valid YAML: {exc}", file=sys.stderr)
            return 2
        except EstateError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        runtime.log.clear()
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"drs_simulator listening on http://{args.host}:{server.server_port} "
          f"(time scale {args.time_scale:g})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
