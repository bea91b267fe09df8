"""The ledger: the store (every SQL statement and migration), collecting an inbox into it,
the departments' status, the consolidated workbook and the exports."""
