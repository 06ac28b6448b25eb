"""The `pjstore` command line: one module per group of commands, one error path (`group`).

    store_commands  ingest, info, get, export, ls, rm
    maintenance     fsck, migrate
    serving         serve, sign-url
    evaluation      eval
    demo            demo (the main job)

A new command is a function in one of these (or a new module) and a line below.
"""

from pjstore.cli import demo, evaluation, maintenance, serving, store_commands
from pjstore.cli.group import main

for _command in (store_commands.ingest, store_commands.info, store_commands.get, store_commands.export,
                 store_commands.ls, store_commands.rm, maintenance.fsck, maintenance.migrate, serving.serve,
                 serving.sign_url,
                 evaluation.eval_command, demo.demo):
    main.add_command(_command)

__all__ = ["main"]
