"""The scan journey that ties the parts together, story pages, consumer-facing HTML, the demo."""
