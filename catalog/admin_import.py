"""The admin side of the imports: django-import-export's screens with the house rules
(all or nothing, errors with line numbers, permissions of our own)."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from import_export.admin import ImportExportMixin

from catalog.resources import EXPORT_FORMATS, IMPORT_FORMATS
from catalog.tabular import ImportRejected


class TableImportExportMixin(ImportExportMixin):
    """Import (CSV, XLSX) through a TableImportResource, export (CSV, XLSX) of the same
    columns. `import_permission` names the permission an import needs; exporting needs
    the view permission."""

    import_permission = ""
    import_formats = IMPORT_FORMATS
    export_formats = EXPORT_FORMATS
    import_template_name = "admin/catalog/import.html"
    skip_admin_log = True  # the rows' own history and the ledger record the import

    def has_import_permission(self, request):
        return bool(self.import_permission) and request.user.has_perm(self.import_permission)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportRejected):
            for error in e.errors:
                form.add_error("import_file", str(error))
            return
        if isinstance(e, UnicodeDecodeError) and isinstance(e.object, bytes | bytearray):
            line = e.object[: e.start].count(b"\n") + 1
            form.add_error(
                "import_file",
                _("Line %(line)d is not UTF-8 text: save the file as UTF-8 (CSV UTF-8) and try again.")
                % {"line": line},
            )
            return
        super().add_data_read_fail_error_to_form(form, e)

    def process_result(self, result, request):
        opts = self.model._meta
        if result.has_validation_errors() or result.has_errors():
            # the data changed between the preview and the confirmation: nothing was imported
            for row in result.invalid_rows[:20]:
                for column, errors in row.error_dict.items():
                    messages.error(
                        request,
                        _("Line %(line)s, %(column)s: %(errors)s")
                        % {"line": row.number, "column": column, "errors": " ".join(errors)},
                    )
            messages.error(request, _("Nothing was imported."))
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_import"))
        outcome = result.outcome
        messages.success(
            request,
            _("Imported %(rows)d rows: %(new)d new, %(updated)d changed, %(unchanged)d unchanged (%(seconds).1f s).")
            % {
                "rows": outcome.rows,
                "new": outcome.created,
                "updated": outcome.updated,
                "unchanged": outcome.unchanged,
                "seconds": outcome.seconds,
            },
        )
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
