"""The developer launcher: ``pc run`` (the embedded stores, the sandbox, the API and
Dagster on one machine), the demo data, and the ``pc`` command itself.

It sits above ``pc_core`` (it starts ``pc_api`` and ``pc_sandbox`` and the embedded
MongoDB server), so the domain package never imports it; ``pc create-owner``, the
operator command the image runs, lives here and calls ``pc_core`` services.
"""
