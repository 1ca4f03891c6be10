from rest_framework.pagination import CursorPagination


class UpdatedCursorPagination(CursorPagination):
    """Cursor pagination in the order a syncing client needs: oldest change first, so
    `?updated_since=` plus following `next` never skips a row."""

    ordering = ("updated_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class NewestFirstCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
