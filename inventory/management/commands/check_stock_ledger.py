from django.core.management.base import BaseCommand, CommandError

from inventory.selectors import stock_ledger_differences


class Command(BaseCommand):
    help = (
        "Check that every stock row's on hand and reserved equal the sums of its ledger movements; "
        "lists each difference and exits non-zero if there is any."
    )

    def handle(self, *args, **options):
        differences = stock_ledger_differences()
        for d in differences:
            self.stderr.write(
                f"stock {d.stock_id} {d.sku}@{d.location}: on hand {d.on_hand}, ledger {d.ledger_on_hand}; "
                f"reserved {d.reserved}, ledger {d.ledger_reserved}"
            )
        if differences:
            raise CommandError(f"{len(differences)} stock rows differ from their ledger")
        self.stdout.write("stock ledger OK: every stock row equals the sum of its movements")
