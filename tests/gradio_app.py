"""A tiny Gradio app exposing `logs_api` like the original UI (source-api.md 2.1).

It serves a fixed window: the records of a raw log file, newest first, paged the
way the API does (records with fewer than three " - " separators are left out of
`logs` but still counted in `total` and in the offsets).

Usage: python gradio_app.py LOGFILE PORT
"""
import sys

import gradio as gr

log_file, port = sys.argv[1], int(sys.argv[2])
with open(log_file, encoding="utf-8") as f:
    records = [line.rstrip("\n") for line in f if line.strip()]
records.reverse()  # the API's list is newest first


def entry(record):
    parts = record.split(" - ", 3)
    if len(parts) < 4:
        return None
    return {"timestamp": parts[0], "level": parts[2], "message": parts[3], "data": None}


def logs_api(limit, offset):
    limit, offset = int(limit), int(offset)
    page = [e for e in (entry(r) for r in records[offset:offset + limit]) if e is not None]
    return {"total": len(records), "logs": page}


with gr.Blocks() as demo:
    limit = gr.Slider(minimum=1, maximum=100, step=1, value=10, label="limit")
    offset = gr.Number(value=0, precision=0, minimum=0, label="offset")
    out = gr.JSON()
    button = gr.Button("logs")
    button.click(logs_api, inputs=[limit, offset], outputs=out, api_name="logs_api")

demo.launch(server_name="127.0.0.1", server_port=port, show_error=True)
