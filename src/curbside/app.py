"""The composition root: everything curbside needs, built once from explicit settings."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from curbside.accounts import AccountService
from curbside.consults.service import ConsultService
from curbside.engine.interview import InterviewSettings
from curbside.engine.kb import KnowledgeBaseError
from curbside.engine.session import Engine
from curbside.guides import GuideLibrary, read_guides
from curbside.interviews import InterviewService
from curbside.mail import Mailer, mailer_from_settings
from curbside.settings import Settings
from curbside.store import Database, InterviewRepository

if TYPE_CHECKING:
    from curbside.answerer import Answerer


class ConfigurationError(Exception):
    """The settings are unsafe or inconsistent: curbside refuses to start (the message says why)."""


def check_settings(settings: Settings) -> None:
    """Raises ConfigurationError for settings curbside must not run with (a public secret key
    outside development)."""
    problem = settings.secret_key_problem()
    if problem:
        raise ConfigurationError(problem)


class Curbside:
    """Builds the engine, guides, database and services. Interfaces (web, CLI) receive one.

    Refuses to start (ConfigurationError) with unsafe settings, before anything else is built.
    """

    def __init__(self, settings: Settings | None = None, database: Database | None = None,
                 mailer: Mailer | None = None):
        self.settings = settings or Settings()
        check_settings(self.settings)
        self.engine = Engine.from_packs(
            self.settings.pack_dirs,
            InterviewSettings(max_questions=self.settings.max_questions),
            alias_file=self.settings.alias_file,
            cache_dir=self.settings.cache_dir,
        )
        guides, problems = read_guides(self.settings.guides_dir, self.engine.kb.conditions)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise KnowledgeBaseError(errors)
        self.guides = GuideLibrary(guides)
        self.database = database or Database(self.settings.resolved_database_url)
        self.interviews = InterviewService(self.engine, InterviewRepository(self.database))
        self.mailer = mailer or mailer_from_settings(self.settings)
        self.accounts = AccountService.from_settings(self.settings, self.database, self.mailer,
                                                     engine=self.engine, guides=self.guides)
        self.consults = ConsultService.from_settings(self.settings, self.database, self.mailer,
                                                     engine=self.engine, guides=self.guides,
                                                     accounts=self.accounts)

    @cached_property
    def answerer(self) -> Answerer:
        """Built on first use: the passage index opens (or is built from the guides and the
        knowledge base) only when someone asks a question."""
        from curbside.answerer import Answerer

        return Answerer.from_settings(self.settings, engine=self.engine)

    def prepare_database(self) -> None:
        """Bring the schema to the latest migration (safe to run at every start)."""
        self.database.upgrade()
