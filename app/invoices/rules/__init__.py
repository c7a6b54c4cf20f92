"""Pure rules of invoicing a deal: no database, no HTTP.

* ``meta``: ``ProviderMeta``, what the rules know of the connected organisation.
* ``lines``: deal products → provider lines, tax codes, deal discounts, the adapter's draft.
* ``items``: which provider item (and template) a line gets.
* ``totals``: totals exactly as the provider computes them.
* ``checks``: every finding before sending.
* ``contacts``: contact diffs and shapes; ``dates``: the company's today, contact terms.

A provider difference is read from ``ProviderMeta.features``, never from the provider's name.
"""
