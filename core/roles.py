"""Staff roles and exactly the permissions each holds.

The groups are created by a data migration (core 0002); after every `migrate` the
permissions of each group are set to exactly what this table says (`sync_roles`), so a
later app extends a role by adding lines here. Entries are `app_label.codename`; a `*`
matches like a shell pattern (`catalog.view_*`).
"""

import fnmatch

MANAGER = "Manager"
FINANCE = "Finance"
WAREHOUSE = "Warehouse"
CUSTOMER_SERVICE = "Customer service"
ROLE_NAMES = (MANAGER, FINANCE, WAREHOUSE, CUSTOMER_SERVICE)
# Roles that must log in with a second factor (TOTP), as must superusers (core.twofactor).
TWO_FACTOR_ROLES = (MANAGER, FINANCE)

ROLES: dict[str, list[str]] = {
    MANAGER: [
        "core.view_dashboard",
        "core.view_user",
        "core.view_saleschannel",
        "core.change_saleschannel",
        "core.view_apikey",
        "core.view_closedday",
        "core.add_closedday",
        "core.change_closedday",
        "core.delete_closedday",
        "core.view_outboxmessage",
        "core.view_approvalrequest",
        "core.view_businessrule",
        "core.add_businessrule",
        "customers.view_*",
        "customers.block_customer",
        "catalog.view_*",
        "inventory.view_*",
        # catalog and inventory: product data, prices and promotions, stock control, four-eyes write-offs
        "catalog.add_product",
        "catalog.change_product",
        "catalog.import_catalog",
        "catalog.add_category",
        "catalog.change_category",
        "catalog.add_brand",
        "catalog.change_brand",
        "catalog.add_productmodel",
        "catalog.change_productmodel",
        "catalog.add_pricelist",
        "catalog.change_pricelist",
        "catalog.add_price",
        "catalog.add_promotion",
        "catalog.change_promotion",
        "inventory.add_location",
        "inventory.change_location",
        "inventory.change_stock",
        "inventory.adjust_stock",
        "inventory.write_off_stock",
        "inventory.approve_write_off",
        "inventory.import_stock",
        "inventory.add_inbounddelivery",
        "inventory.change_inbounddelivery",
        "inventory.receive_inbounddelivery",
        # orders
        "orders.view_*",
        "orders.review_fraud",
        "orders.approve_address_change",
        "orders.approve_hold_release",
        "orders.cancel_order",
        "orders.reprocess_orderinbox",
        "orders.add_fraudblock",
        "orders.change_fraudblock",
        "orders.delete_fraudblock",
        "orders.change_webhookdelivery",
        # track & trace: events, polling state, the watch list
        "carriers.view_*",
        "carriers.resolve_trackingissue",
        "django_celery_beat.view_*",
        "django_celery_beat.change_periodictask",
        # payments: sees everything, approves (four eyes) refunds above the limit and money received by hand
        "payments.view_*",
        "payments.approve_refund",
        "payments.approve_manual_payment",
        "payments.export_journal",
    ],
    FINANCE: [
        "core.view_dashboard",
        "core.view_saleschannel",
        "customers.view_customer",
        "customers.view_address",
        "customers.block_customer",
        "catalog.view_product",
        "catalog.view_vatrate",
        "catalog.add_vatrate",
        "catalog.view_pricelist",
        "catalog.view_price",
        "catalog.view_promotion",
        "inventory.view_stock",
        "inventory.view_stockmovement",
        "inventory.view_location",
        # orders
        "orders.view_order",
        "orders.view_orderline",
        "orders.view_orderevent",
        "orders.view_fulfilment",
        "orders.view_shipment",
        "orders.review_fraud",
        "orders.view_fraudblock",
        "orders.add_fraudblock",
        # payments: clearing, bank statements and the finance queue, refunds and SEPA files, credit notes,
        # reports and the journal (a second person approves large refunds and money received by hand)
        "payments.view_*",
        "payments.change_clearingpolicy",
        "payments.sync_payment",
        "payments.send_payment_link",
        "payments.request_manual_payment",
        "payments.request_refund",
        "payments.issue_credit_note",
        "payments.add_bankstatementimport",
        "payments.match_bankstatementline",
        "payments.add_sepabatch",
        "payments.mark_sepabatch_sent",
        "payments.export_journal",
    ],
    WAREHOUSE: [
        "core.view_closedday",
        "catalog.view_*",
        "inventory.view_*",
        # stock control: receive, count, move, write off (above the limit a manager approves)
        "inventory.change_stock",
        "inventory.adjust_stock",
        "inventory.write_off_stock",
        "inventory.import_stock",
        "inventory.add_inbounddelivery",
        "inventory.change_inbounddelivery",
        "inventory.receive_inbounddelivery",
        # orders: what ships from where
        "orders.view_order",
        "orders.view_orderline",
        "orders.view_fulfilment",
        "orders.view_fulfilmentline",
        "orders.view_shipment",
        "orders.view_shipmentline",
        "carriers.view_shipmentevent",
        "carriers.view_trackingissue",
    ],
    CUSTOMER_SERVICE: [
        "core.view_saleschannel",
        "customers.view_customer",
        "customers.change_customer",
        "customers.view_address",
        "customers.add_address",
        "customers.change_address",
        "catalog.view_product",
        "catalog.view_category",
        "inventory.view_location",
        "inventory.view_stock",
        "catalog.view_brand",
        "catalog.view_pricelist",
        "catalog.view_price",
        "catalog.view_promotion",
        "inventory.view_inbounddelivery",
        "inventory.view_inboundline",
        # orders
        "orders.view_order",
        "orders.view_orderline",
        "orders.view_orderaddress",
        "orders.view_orderevent",
        "orders.view_fulfilment",
        "orders.view_shipment",
        "orders.view_orderinbox",
        "orders.cancel_order",
        # track & trace: the parcel's timeline and the watch list of late and lost parcels
        "carriers.view_shipmentevent",
        "carriers.view_shipmenttracking",
        "carriers.view_trackingissue",
        "carriers.view_shipmentnotification",
        "carriers.resolve_trackingissue",
        # payments: what was paid and invoiced; a payment link for what is still due
        "payments.view_payment",
        "payments.view_paymentevent",
        "payments.view_invoice",
        "payments.view_creditnote",
        "payments.view_refund",
        "payments.sync_payment",
        "payments.send_payment_link",
    ],
}


def resolve(patterns: list[str], available: set[str]) -> set[str]:
    """The permissions (`app_label.codename`) that the patterns name among `available`."""
    chosen: set[str] = set()
    for pattern in patterns:
        if "*" in pattern or "?" in pattern:
            chosen.update(fnmatch.filter(available, pattern))
        elif pattern in available:
            chosen.add(pattern)
    return chosen


def sync_roles(*, using: str = "default") -> dict[str, int]:
    """Give each role group exactly the permissions of ROLES. Returns counts per role."""
    from django.contrib.auth.models import Group, Permission

    perms = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.using(using).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    from core.audit import acting_as

    result = {}
    with acting_as(label="roles:sync"):  # the group history names the sync, not "system"
        for role, patterns in ROLES.items():
            group, _ = Group.objects.using(using).get_or_create(name=role)
            wanted = resolve(patterns, set(perms))
            group.permissions.set([perms[p] for p in wanted])
            result[role] = len(wanted)
    return result
