"""The sales channel: packaging hierarchy (unit → case → pallet), partners (warehouses, dealers,
stores) and their clerks, channel scans, diversion, funnel and stock."""
