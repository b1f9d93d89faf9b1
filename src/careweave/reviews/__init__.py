"""The review planner on the record's side (issue 14): the extract built from the record as
``careweave register`` builds it, the Django-free planner (``careweave.population.reviews``) run on
it, and the ``careweave reviews`` command."""
