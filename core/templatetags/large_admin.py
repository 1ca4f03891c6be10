from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.template import Library

from core.admin_large import fast_date_hierarchy_context

register = Library()


@register.tag(name="fast_date_hierarchy")
def fast_date_hierarchy_tag(parser, token):
    return InclusionAdminNode(
        parser, token, func=fast_date_hierarchy_context, template_name="date_hierarchy.html", takes_context=False
    )
