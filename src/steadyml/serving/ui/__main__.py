"""``python -m steadyml.serving.ui``: run the dashboard with uvicorn (``steadyml ui`` checks its
arguments, then replaces itself with this process, so the CLI never imports the web stack)."""

from __future__ import annotations

import argparse
import threading
import webbrowser


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m steadyml.serving.ui")
    parser.add_argument("--project", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--open", action="store_true", help="open the dashboard in a browser")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    import uvicorn

    from steadyml.project import open_project
    from steadyml.serving.header_timeout import HeaderTimeoutProtocol
    from steadyml.serving.ui.app import create_ui_app

    project = open_project(args.project)
    app = create_ui_app(project)
    if args.open:
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        url = f"http://{host}:{args.port}/"
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                    access_log=False, timeout_graceful_shutdown=5,
                    http=HeaderTimeoutProtocol)  # fmt: skip
    finally:
        project.close()


if __name__ == "__main__":
    main()
