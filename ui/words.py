"""The web chat's own words, in French (the default) and English: the page speaks one language at a
time (``?lang=en`` or the link at the top), and an answer's bubble speaks the question's language.
The quoted article text is never translated.

>>> words("en")["send"], words("fr")["send"], words("de")["send"]
('Send', 'Envoyer', 'Envoyer')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LANGUAGES = ("fr", "en")

_FR = {
    "title": "## Questions sur les articles\n"
    "Posez une question en français ou en anglais : la réponse cite les phrases des articles qui la "
    "justifient. [English](?lang=en)",
    "question": "Votre question…",
    "send": "Envoyer",
    "settings": "Réglages",
    "k": "Passages recherchés (k)",
    "since": "Articles publiés depuis le (AAAA-MM-JJ)",
    "until": "Jusqu'au (AAAA-MM-JJ)",
    "clear": "Nouvelle conversation",
    "sources_pick": "Sources — cliquez pour lire l'article entier",
    "related_pick": "Passages proches — cliquez pour lire l'article",
    "no_article": "Choisissez une source pour lire l'article entier.",
    "update": "Mettre à jour l'index",
    "add_heading": "### Ajouter des articles\n{types} — `.md` avec en-tête `title`/`date`, `.jsonl` un "
    "article par ligne — {mb} Mo au plus par fichier.",
    "files": "Fichiers",
    "replace": "Remplacer un fichier de même nom (l'ancien va à la corbeille) ; sinon le nouveau est "
    "gardé sous un autre nom",
    "add": "Indexer les fichiers",
    "web_source": "Ou l'adresse d'un article, d'un flux RSS ou Atom",
    "add_web": "Ajouter",
    "web_source_needed": "Donnez une adresse qui commence par http:// ou https://.",
    "remove_heading": "### Supprimer un article",
    "article": "Article",
    "remove": "Supprimer…",
    "yes_remove": "Oui, supprimer",
    "cancel": "Annuler",
    "trash_heading": "### Corbeille",
    "trashed": "Fichiers supprimés",
    "restore": "Restaurer",
    "docs_heading": "### Articles indexés",
    "search": "Chercher dans les titres et fichiers",
    "newest": "Les plus récents d'abord",
    "by_title": "Par titre",
    "tab_articles": "Articles",
    # messages
    "empty_question": "La question est vide : tapez une question.",
    "choose_files": "Choisissez d'abord un ou plusieurs fichiers.",
    "too_many_files": "{n} fichiers : {max} au plus à la fois.",
    "refused_some": "{n} fichier(s) refusé(s) sur {total} (voir la liste).",
    "choose_article": "Choisissez l'article à supprimer.",
    "choose_trash": "Choisissez le fichier à restaurer.",
    "changed": "L'article choisi a changé depuis la demande de confirmation : cliquez à nouveau sur "
    "Supprimer.",
    "confirm": "Supprimer « {label} » ? Le fichier va dans la corbeille ; vous pourrez le restaurer.",
    "read_only": "Ce serveur est en lecture seule.",
    "unexpected": "Erreur inattendue : {name}",
    "pending": "**{n} changement(s) dans le dossier des articles pas encore indexé(s)** : {files}",
    "jsonl_note": "{n} article(s) d'un fichier à plusieurs articles (.jsonl) ne se suppriment pas ici : "
    "modifiez ce fichier, puis `rag index`.",
    "removed_at": "supprimé le {when}",
    "searching": "Recherche dans les articles…",
    "welcome_none": "Aucun article n'est indexé : ajoutez-en dans l'onglet Articles.",
    "welcome": "{count}. Posez une question en français ou en anglais, ou choisissez un exemple.",
    "span": " (du {first} au {last})",
    "example": "Que disent les articles sur « {title} » ?",
    # the Articles tab's facts and results
    "articles": "articles",
    "passages": "passages",
    "model": "modèle",
    "ivf": "recherche approchée (IVF)",
    "updated": "mis à jour",
    "no_docs": "Aucun article indexé.",
    "no_match": "Aucun article ne contient « {query} ».",
    "rows": "{first} – {last} sur {total} (page {page} / {pages})",
    "head": ("Titre", "Date", "Passages", "Fichier"),
    "added": "✓ {name} ajouté",
    "renamed": "✓ {name} ajouté sous le nom {path}",
    "replaced": "✓ {name} remplace {path} ; l'ancienne version est dans la corbeille",
    "unchanged": "= {name} : identique au fichier {path} déjà présent, rien à faire",
    "refused": "✗ {name} refusé",
    "removed": "✓ {name} mis à la corbeille",
    "restored": "✓ {name} restauré sous le nom {path}",
    "index_line": "Index : {added} nouveau(x), {updated} mis à jour, {removed} retiré(s), {embedded} "
    "phrases vectorisées. Vous pouvez poser vos questions dès à présent.",
    "ignored": "⚠ ignoré {path} : {reason}",
    # an answer's bubble (in the question's language)
    "sources": "Sources",
    "related": "Passages proches",
    "also_in": "Aussi dans",
    "relations": {
        "copy": "",
        "earlier version": "version antérieure",
        "newer version": "version plus récente",
    },
    "query": "Recherche : « {query} »",
    "copy": "Copier",
    "copied": "✓ copié",
}

_EN = {
    "title": "## Questions about the articles\n"
    "Ask in English or French: the answer quotes the sentences of the articles that support it. "
    "[Français](?lang=fr)",
    "question": "Your question…",
    "send": "Send",
    "settings": "Settings",
    "k": "Passages searched (k)",
    "since": "Articles published since (YYYY-MM-DD)",
    "until": "Until (YYYY-MM-DD)",
    "clear": "New conversation",
    "sources_pick": "Sources — click to read the whole article",
    "related_pick": "Related passages — click to read the article",
    "no_article": "Choose a source to read the whole article.",
    "update": "Update the index",
    "add_heading": "### Add articles\n{types} — `.md` with front matter `title`/`date`, `.jsonl` one "
    "article a line — {mb} MB at most a file.",
    "files": "Files",
    "replace": "Replace a file of the same name (the old one goes to the trash); otherwise the new one "
    "is kept under another name",
    "add": "Index the files",
    "web_source": "Or the address of an article, an RSS or Atom feed",
    "add_web": "Add",
    "web_source_needed": "Give an address starting with http:// or https://.",
    "remove_heading": "### Remove an article",
    "article": "Article",
    "remove": "Remove…",
    "yes_remove": "Yes, remove",
    "cancel": "Cancel",
    "trash_heading": "### Trash",
    "trashed": "Removed files",
    "restore": "Restore",
    "docs_heading": "### Indexed articles",
    "search": "Search the titles and files",
    "newest": "Newest first",
    "by_title": "By title",
    "tab_articles": "Articles",
    "empty_question": "The question is empty: type a question.",
    "choose_files": "Choose one or more files first.",
    "too_many_files": "{n} files: {max} at most at a time.",
    "refused_some": "{n} of {total} file(s) refused (see the list).",
    "choose_article": "Choose the article to remove.",
    "choose_trash": "Choose the file to restore.",
    "changed": "The article picked changed since the confirmation was asked: click Remove again.",
    "confirm": "Remove « {label} »? The file goes to the trash; you can restore it.",
    "read_only": "This server is read-only.",
    "unexpected": "Unexpected error: {name}",
    "pending": "**{n} change(s) in the corpus folder not indexed yet**: {files}",
    "jsonl_note": "{n} article(s) of a multi-article file (.jsonl) cannot be removed here: edit that "
    "file, then run `rag index`.",
    "removed_at": "removed {when}",
    "searching": "Searching the articles…",
    "welcome_none": "No article is indexed yet: add some in the Articles tab.",
    "welcome": "{count}. Ask in English or French, or pick an example.",
    "span": " ({first} to {last})",
    "example": "What do the articles say about « {title} »?",
    "articles": "articles",
    "passages": "passages",
    "model": "model",
    "ivf": "approximate search (IVF)",
    "updated": "updated",
    "no_docs": "No article indexed yet.",
    "no_match": "No article holds « {query} ».",
    "rows": "{first} – {last} of {total} (page {page} / {pages})",
    "head": ("Title", "Date", "Passages", "File"),
    "added": "✓ {name} added",
    "renamed": "✓ {name} added as {path}",
    "replaced": "✓ {name} replaces {path}; the old version is in the trash",
    "unchanged": "= {name}: the same as {path} already there, nothing to do",
    "refused": "✗ {name} refused",
    "removed": "✓ {name} moved to the trash",
    "restored": "✓ {name} restored as {path}",
    "index_line": "Index: {added} new, {updated} updated, {removed} removed, {embedded} sentences "
    "embedded. You can ask about them now.",
    "ignored": "⚠ skipped {path}: {reason}",
    "sources": "Sources",
    "related": "Related passages",
    "also_in": "Also in",
    "relations": {"copy": "", "earlier version": "earlier version", "newer version": "newer version"},
    "query": "Searched for: « {query} »",
    "copy": "Copy",
    "copied": "✓ copied",
}

_WORDS: dict[str, Mapping[str, Any]] = {"fr": _FR, "en": _EN}
assert set(_FR) == set(_EN)


def words(language: str | None) -> Mapping[str, Any]:
    """The page's words in ``language`` (French for anything else than English)."""
    return _WORDS.get(str(language or "fr"), _FR)


def page_language(query_params: Mapping[str, str] | None) -> str:
    """The page's language from its address (``?lang=en``); French by default.

    >>> page_language({"lang": "EN"}), page_language({}), page_language({"lang": "de"})
    ('en', 'fr', 'fr')
    """
    lang = str((query_params or {}).get("lang", "")).strip().lower()
    return lang if lang in LANGUAGES else "fr"


def period(since: str, until: str, language: str | None = "fr") -> str:
    """The period an answer searched, in words.

    >>> period("2020-07-01", "2020-07-31"), period("", "2020-07-31", "en"), period("2020-07-01", "", "en")
    ('articles du 2020-07-01 au 2020-07-31', 'articles until 2020-07-31', 'articles since 2020-07-01')
    """
    english = language == "en"
    if since and until:
        return f"articles from {since} to {until}" if english else f"articles du {since} au {until}"
    if since:
        return f"articles since {since}" if english else f"articles depuis le {since}"
    if until:
        return f"articles until {until}" if english else f"articles jusqu'au {until}"
    return ""
