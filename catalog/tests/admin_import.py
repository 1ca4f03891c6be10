"""Drive django-import-export's two admin steps (upload with preview, then confirm)."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse


def admin_import_preview(client, model: str, data: bytes, *, filename: str = "file.csv", fmt: str = "0"):
    """POST the file to the import page; returns the response with the preview or the errors."""
    upload = SimpleUploadedFile(filename, data, content_type="text/csv")
    return client.post(reverse(f"admin:{model}_import"), {"resource": "0", "format": fmt, "import_file": upload})


def admin_import(client, model: str, data: bytes, *, filename: str = "file.csv", fmt: str = "0"):
    """Upload, check the preview has no errors, confirm; returns the confirmation response."""
    preview = admin_import_preview(client, model, data, filename=filename, fmt=fmt)
    assert preview.status_code == 200
    confirm = preview.context.get("confirm_form")
    assert confirm is not None, _errors(preview)
    return client.post(reverse(f"admin:{model}_process_import"), dict(confirm.initial), follow=True)


def _errors(response) -> str:
    result = response.context.get("result")
    form = response.context.get("form")
    rows = [(r.number, r.error_dict) for r in result.invalid_rows] if result is not None else []
    return f"form errors: {form.errors if form is not None else None}; invalid rows: {rows}"


def invalid_lines(response) -> dict[int, dict]:
    """The preview's invalid rows: {line: {column: [messages]}}."""
    return {row.number: dict(row.error_dict) for row in response.context["result"].invalid_rows}
