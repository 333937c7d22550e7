"""A task row shown as workers would see it, before it is uploaded.

The screens come from the flow engine itself (``flows.engine.preview`` of the task
flow's task node, the renderer every USSD hop and SMS reply uses), so what a
requester previews is what a worker gets: the project's instructions, the row's text,
the numbered options and the skip/menu line, cut into USSD pages with "98 More", and
the one SMS text. Sizes are counted by ``core.medium`` (the 182-unit rule, SMS
segments and their encoding). Nothing is stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.medium import USSD_MAX_TEXT, count_segments, ussd_length
from flows.engine import Context, default_library, preview
from flows.i18n import LANGUAGES
from tasks.errors import InvalidUpload
from tasks.models import Project
from tasks.projects import answer_spec
from tasks.screens import task_menu, task_screen_values
from tasks.task_views import content_language
from tasks.upload import check_row

#: The task flow's node that shows a task (flows/definitions/task.toml).
TASK_FLOW, TASK_NODE = "task", "task"


@dataclass(frozen=True)
class UssdPage:
    """One USSD screen and its size in the units the 182 rule counts."""

    text: str
    characters: int


@dataclass(frozen=True)
class SmsText:
    """The task as one SMS: its text, size, encoding and segment count."""

    text: str
    characters: int
    encoding: str
    segments: int


@dataclass(frozen=True)
class LanguagePreview:
    """What a worker using one language sees."""

    language: str
    ussd: list[UssdPage]
    sms: SmsText


@dataclass(frozen=True)
class TaskPreview:
    """The row's screens in each language the project's workers may use."""

    ussd_limit: int
    screens: list[LanguagePreview]

    def to_dict(self) -> dict[str, Any]:
        """The API shape."""
        return asdict(self)


def preview_languages(project: Project) -> list[str]:
    """The project's languages that workers' screens exist in (all of them if it names none)."""
    chosen = [lang for lang in project.languages if lang in LANGUAGES]
    return chosen if project.languages else list(LANGUAGES)


def preview_task(project: Project, row: Any) -> TaskPreview:
    """Render one upload row (``text``, optional ``external_id``, ``gold_answer``).

    A row that an upload would refuse is refused here with the same problems (422).
    """
    spec, problems = check_row(project, row, task_menu(project.task_type, project.options))
    if spec is None:
        details = [{"field": field, "problem": text} for field, text in problems]
        raise InvalidUpload("the row would be refused", details=details)
    translations = project.translations or {}
    labels = answer_spec(project).options
    library = default_library()
    screens = []
    for language in preview_languages(project):
        # What a worker whose screens are in this language is shown (tasks.assignment).
        texts = translations.get(content_language(translations, spec.language, [language]) or "")
        texts = texts or {}
        options = tuple(texts["options"]) if labels and texts.get("options") else labels
        instructions = texts.get("instructions") or project.instructions
        task = task_screen_values(None, instructions, spec.text, project.task_type, options)
        shown = {}
        for channel in ("ussd", "sms"):
            context = Context(channel=channel, language=language, registered=True, qualified=True)
            shown[channel] = preview(library, TASK_FLOW, TASK_NODE, context, values={"task": task})
        sms = shown["sms"][0]
        info = count_segments(sms)
        screens.append(
            LanguagePreview(
                language=language,
                ussd=[UssdPage(page, ussd_length(page)) for page in shown["ussd"]],
                sms=SmsText(sms, info.units, info.encoding, info.segments),
            )
        )
    return TaskPreview(ussd_limit=USSD_MAX_TEXT, screens=screens)
