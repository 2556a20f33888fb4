"""Reading a room: the list follows new messages, rows stay a sane height, and both light and
dark desktop themes are readable."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPalette
from PySide6.QtWidgets import QApplication, QSpinBox, QWidget
from pytestqt.qtbot import QtBot

from desktopchat.app.window import style
from desktopchat.gui.hosting import HostInfo
from desktopchat.gui.join_page import NONE_FOUND, JoinPage
from desktopchat.gui.panes.colours import SenderColours
from desktopchat.gui.panes.json_pane import json_problem
from desktopchat.gui.panes.message_delegate import MessageDelegate, _static_text
from desktopchat.gui.panes.message_list import MessageListView
from desktopchat.gui.panes.message_model import (
    BUSY_MS,
    FLOOD_MS,
    FLOOD_RATE,
    FRAME_MS,
    PAGE_ROWS,
    PREVIEW_LINES,
    ROW_ROLE,
    MessageListModel,
    MessageRow,
)
from desktopchat.gui.panes.text_pane import TextPane
from desktopchat.gui.room_view import RoomView
from desktopchat.protocol import Kind
from tests.gui.conftest import shown


def row(n: int, **fields: object) -> MessageRow:
    base: dict[str, object] = {"time": 1_795_000_000_000 + n, "sender": "ada", "kind": "text"}
    base.update({"text": f"message {n}"})
    base.update(fields)
    return MessageRow(**base)  # type: ignore[arg-type]


def fill(model: MessageListModel, first: int, count: int, **fields: object) -> None:
    for n in range(first, first + count):
        model.append(row(n, **fields))
    model.flush()


def test_rows_wait_a_frame_in_a_quiet_room_and_longer_the_busier_it_is(qtbot: QtBot) -> None:
    now = [1000.0]
    model = MessageListModel(clock=lambda: now[0])
    waits = []
    # (seconds since the last batch, rows): each batch enters when its wait is over.
    for quiet, rows in [
        (10, 1),  # a first message after a quiet moment
        (0, 1),  # more come: the list moves ten times a second
        (0, FLOOD_RATE * BUSY_MS // 1000 + 1),  # a flood
        (0, FLOOD_RATE * FLOOD_MS // 1000 - 1),  # just under it again
        (0, 1),
        (2 * BUSY_MS / 1000, 1),  # quiet again
    ]:
        now[0] += quiet
        for n in range(rows):
            model.append(row(n))
        waits.append(model._flush_timer.interval())
        now[0] += waits[-1] / 1000
        model.flush()
    assert waits == [FRAME_MS, BUSY_MS, BUSY_MS, FLOOD_MS, BUSY_MS, FRAME_MS]
    now[0] += 2 * BUSY_MS / 1000
    with qtbot.waitSignal(model.rowsAppended, timeout=1000):
        model.append(row(0))  # and it comes on its own, a frame later
    assert model._flush_timer.interval() == FRAME_MS


@pytest.mark.parametrize("uptime", [0.5, 60.0, 86_400.0])
def test_the_first_message_waits_only_a_frame_however_long_the_machine_has_been_up(
    qtbot: QtBot, uptime: float
) -> None:
    model = MessageListModel(clock=lambda: uptime)
    model.append(row(0))
    assert model._flush_timer.interval() == FRAME_MS


def scrolled_up(qtbot: QtBot, pane: tuple[TextPane, MessageListModel]) -> MessageListView:
    """100 messages, followed to the end, then the user scrolls to the top to read."""
    text_pane, model = pane
    fill(model, 0, 100)
    qtbot.waitUntil(lambda: at_end(text_pane.view))
    text_pane.view.verticalScrollBar().setValue(0)
    return text_pane.view


def at_end(view: MessageListView) -> bool:
    bar = view.verticalScrollBar()
    return bar.maximum() > 0 and bar.value() == bar.maximum()


@pytest.fixture
def pane(qtbot: QtBot) -> tuple[TextPane, MessageListModel]:
    model = MessageListModel()
    pane = TextPane(model)
    shown(qtbot, pane, 500, 400)
    return pane, model


def test_joining_with_history_then_new_messages_keeps_the_list_at_the_newest(
    qtbot: QtBot, pane: tuple[TextPane, MessageListModel]
) -> None:
    text_pane, model = pane
    view = text_pane.view
    fill(model, 0, 200)  # the backlog a newcomer gets
    qtbot.waitUntil(lambda: at_end(view))
    for n in range(200, 205):
        fill(model, n, 1)
        qtbot.waitUntil(lambda: at_end(view))
    assert not view.follower.jump.isVisible()


def test_scrolled_up_new_messages_show_a_button_with_their_count(
    qtbot: QtBot, pane: tuple[TextPane, MessageListModel]
) -> None:
    view, model = scrolled_up(qtbot, pane), pane[1]
    fill(model, 100, 3)
    qtbot.waitUntil(lambda: view.follower.jump.isVisible())
    assert view.follower.jump.text() == "3 new messages ↓"
    assert view.verticalScrollBar().value() == 0, "reading is not interrupted"
    view.follower.jump.click()
    qtbot.waitUntil(lambda: at_end(view))
    assert not view.follower.jump.isVisible()
    fill(model, 103, 1)
    qtbot.waitUntil(lambda: at_end(view))


def test_a_reader_in_the_middle_of_a_long_list_stays_there_as_rows_arrive(
    qtbot: QtBot, pane: tuple[TextPane, MessageListModel]
) -> None:
    """Each insert lays the list out again from the top; the reader's place must not move
    (a first layout pass shorter than their place used to clamp the scroll bar, and the
    clamp read as "the user went back to the end")."""
    text_pane, model = pane
    view = text_pane.view
    fill(model, 0, 90)
    qtbot.waitUntil(lambda: at_end(view))
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    place = bar.value()
    qtbot.wait(50)
    top = view.indexAt(QPoint(5, 5)).data(ROW_ROLE)
    fill(model, 90, 3)
    qtbot.waitUntil(lambda: view.follower.jump.isVisible())
    qtbot.wait(50)
    assert bar.value() == place
    assert view.indexAt(QPoint(5, 5)).data(ROW_ROLE) == top
    assert not view.follower.following
    assert view.follower.jump.text() == "3 new messages ↓"


def test_a_rows_text_breaks_lines_as_a_plain_label_would(qapp: QApplication) -> None:
    # Line feeds break lines, tabs and carriage returns are spaces: as QFontMetrics lays out
    # plain text, which wraps these texts (no word longer than a line) the same way.
    font = qapp.font()
    metrics = QFontMetrics(font)
    for kind, text, flags in [
        (Kind.TEXT, "alpha line\nbeta line\n\ngamma", Qt.TextFlag.TextWordWrap),
        (Kind.TEXT, "tabs\tbetween\twords\tand a carriage\rreturn " * 4, Qt.TextFlag.TextWordWrap),
        (Kind.JSON, '{"a":1,\n"b":"' + "x" * 200 + '"}', Qt.TextFlag.TextWrapAnywhere),
    ]:
        painted = _static_text(row(0, kind=kind, text=text), 240, font)
        measured = metrics.boundingRect(QRect(0, 0, 240, 100_000), int(flags), text)
        assert round(painted.size().height()) == measured.height(), text


def test_a_word_longer_than_the_list_is_wide_wraps_instead_of_running_past_the_edge(
    qtbot: QtBot, pane: tuple[TextPane, MessageListModel]
) -> None:
    text_pane, model = pane
    view = text_pane.view
    word = "0123456789abcdef" * 40  # a long hash or token: no space to break at
    fill(model, 0, 1, text=f"see {word} here")
    index = view.model().index(0, 0)
    qtbot.waitUntil(lambda: view.visualRect(index).height() > 0)
    font = view.font()
    text = _static_text(model.row_at(0), view.viewport().width() - 16, font)
    assert text.size().width() <= view.viewport().width() - 16, "nothing past the edge"
    lines = round(text.size().height() / QFontMetrics(font).lineSpacing())
    assert lines >= QFontMetrics(font).horizontalAdvance(word) // view.viewport().width() + 1
    assert view.visualRect(index).height() > lines * QFontMetrics(font).lineSpacing()


def test_our_own_message_is_brought_into_view_even_when_scrolled_up(
    qtbot: QtBot, pane: tuple[TextPane, MessageListModel]
) -> None:
    view, model = scrolled_up(qtbot, pane), pane[1]
    fill(model, 100, 1, own=True, cid="c1", delivered=False)
    qtbot.waitUntil(lambda: at_end(view))
    assert not view.follower.jump.isVisible()


def test_a_followed_list_lays_out_only_its_tail_and_scrolling_up_shows_the_rest(
    qtbot: QtBot, pane: tuple[TextPane, MessageListModel]
) -> None:
    """A day of a busy room: the list shows its newest rows; the older ones come back a page
    at a time as the reader scrolls up, the row they were reading staying where it was, and
    only then is older history asked for."""
    text_pane, model = pane
    view = text_pane.view
    asked: list[bool] = []
    view.follower.topReached.connect(lambda: asked.append(True))
    for first in range(0, 250, 50):
        fill(model, first, 50)
    qtbot.waitUntil(lambda: at_end(view))
    tail = view.follower.tail_rows()
    assert tail < 250 - PAGE_ROWS
    assert model.rowCount() == tail
    assert model.hidden == 250 - tail
    assert model.row_at(0).text == f"message {250 - tail}"

    bar = view.verticalScrollBar()
    bar.setValue(0)
    assert model.rowCount() == tail + PAGE_ROWS, "a page of the held rows came back"

    def top() -> str:
        row: MessageRow | None = view.indexAt(QPoint(0, 0)).data(ROW_ROLE)
        return "" if row is None else row.text

    qtbot.waitUntil(lambda: top() == f"message {250 - tail}")  # the reader's row
    for _ in range(250 // PAGE_ROWS):  # the rest, a page at a time
        if not model.hidden:
            break
        bar.setValue(bar.maximum() // 2)
        bar.setValue(0)
    assert model.hidden == 0
    assert not asked
    bar.setValue(bar.maximum() // 2)
    bar.setValue(0)
    assert asked == [True], "nothing held any more: now older history is asked for"

    fill(model, 1000, 1)  # scrolled up: the list keeps what the reader brought back
    assert model.rowCount() == 251
    view.follower.follow()
    fill(model, 1001, 1)
    assert model.rowCount() == tail


def test_a_followed_list_shows_two_screens_of_rows_however_tall_it_is(
    qtbot: QtBot, pane: tuple[TextPane, MessageListModel]
) -> None:
    text_pane, model = pane
    view = text_pane.view
    fill(model, 0, 400)
    qtbot.waitUntil(lambda: at_end(view))
    short = model.rowCount()
    assert short == view.follower.tail_rows()
    text_pane.resize(500, 1600)
    qtbot.waitUntil(lambda: model.rowCount() > short)
    tall = view.follower.tail_rows()
    assert model.rowCount() == tall
    delegate = view.itemDelegate()
    assert isinstance(delegate, MessageDelegate)
    assert tall * delegate.shortest_row(view.font()) >= 2 * view.viewport().height()
    qtbot.waitUntil(lambda: at_end(view))
    assert view.verticalScrollBar().maximum() >= view.viewport().height(), "room to scroll up"
    fill(model, 400, 1)
    assert model.rowCount() == tall


def test_the_filter_searches_the_rows_a_followed_list_holds_back(
    qtbot: QtBot, pane: tuple[TextPane, MessageListModel]
) -> None:
    text_pane, model = pane
    fill(model, 0, 3 * PAGE_ROWS)
    assert model.hidden
    text_pane.set_filter("message 7")  # 7, 70-79, 700-709 and the like
    expected = [n for n in range(3 * PAGE_ROWS) if f"message {n}".startswith("message 7")]
    shown = [text_pane.proxy.index(n, 0).data(ROW_ROLE).text for n in range(len(expected))]
    assert shown == [f"message {n}" for n in expected]
    assert model.hidden == 0
    fill(model, 3 * PAGE_ROWS, 5)
    assert model.hidden == 0, "nothing is held back while filtering"
    text_pane.set_filter("")
    fill(model, 3 * PAGE_ROWS + 5, 1)
    assert model.rowCount() == text_pane.view.follower.tail_rows()


def test_our_message_whose_place_is_among_the_held_rows_is_shown_there() -> None:
    model = MessageListModel()
    for n in range(5):
        model.append(row(n, id=10 + n))
    model.append(row(5, own=True, cid="c1", delivered=False))
    for n in range(6, 11):
        model.append(row(n, id=20 + n))
    model.flush()
    model.keep_newest(3)
    assert model.hidden == 8
    assert model.mark_delivered("c1", 13)  # stored between ids 13 and 14
    assert model.hidden == 4, "shown from its new place on"
    assert [model.row_at(n).id for n in range(3)] == [13, 14, 26]
    assert model.row_at(0).cid == "c1"
    model.keep_newest(3)
    assert model.hidden == 8
    assert model.mark_failed("c1", "refused")  # held: changed quietly, seen when shown again
    model.reveal()
    assert model.row_at(4).failure == "refused"


def test_a_tab_that_filled_while_hidden_opens_at_the_newest(qtbot: QtBot) -> None:
    room = RoomView()
    qtbot.addWidget(room)
    room.resize(900, 600)
    room.show()
    qtbot.waitExposed(room)
    room.tabs.setCurrentIndex(0)
    for n in range(150):
        room.add_row(row(n, kind="json", text=f'{{"n":{n}}}', data={"n": n}))
    room.models[Kind.JSON].flush()
    room.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: at_end(room.json_pane.view))


def test_a_huge_message_is_a_row_of_a_few_lines_with_the_rest_counted() -> None:
    big = "\n".join(f"line {n}" for n in range(50_000))
    preview = row(0, text=big).preview()
    assert preview.count("\n") == PREVIEW_LINES
    assert preview.endswith("… 49990 more lines")
    one_line = row(1, kind="json", text="[" + "1," * 500_000 + "1]").preview()
    assert len(one_line) < 1300
    assert one_line.endswith("more characters")
    assert row(2, text="short").preview() == "short"


def test_a_huge_message_row_is_no_taller_than_its_preview(
    qtbot: QtBot, pane: tuple[TextPane, MessageListModel]
) -> None:
    text_pane, model = pane
    model.append(row(0, kind="json", text="[" + "1," * 500_000 + "1]"))
    model.flush()
    view = text_pane.view
    index = view.model().index(0, 0)
    qtbot.waitUntil(lambda: view.visualRect(index).height() > 0)
    assert view.visualRect(index).height() < 600


def test_rows_keep_their_own_heights_and_day_lines_as_the_list_changes(
    qtbot: QtBot, pane: tuple[TextPane, MessageListModel]
) -> None:
    """Heights are remembered by position: filtering, older pages above, a new width and a
    bigger font must each give every row its right height and day line again."""
    text_pane, model = pane
    view = text_pane.view
    day = 86_400_000
    model.append(row(0, time=1_795_000_000_000, text="first day"))
    model.append(row(1, time=1_795_000_000_000 + day, text="second day\nand a second line"))
    model.append(row(2, time=1_795_000_000_000 + day + 1, text="same day, words to wrap " * 3))
    model.flush()

    def heights() -> list[int]:
        view.executeDelayedItemsLayout()
        proxy = view.model()
        return [view.visualRect(proxy.index(n, 0)).height() for n in range(proxy.rowCount())]

    first, second, third = heights()
    assert second > third, "a day line and a second line of text"
    assert heights() == [first, second, third], "asked again: the same"
    text_pane.proxy.setFilterFixedString("day")  # all three match
    assert heights() == [first, second, third]
    text_pane.proxy.setFilterFixedString("same")
    (only,) = heights()
    assert only == first, "now first in the list: it gets the day line the others had"
    text_pane.proxy.setFilterFixedString("")
    model.prepend([row(-1, time=1_795_000_000_000 - 1, text="older")])
    older, *rest = heights()
    assert older == first, "the older message now opens the day"
    assert rest[0] < first, "the first day's line moved up to the older message"
    assert rest[1:] == [second, third]
    wide = heights()
    text_pane.resize(160, 400)
    qtbot.waitUntil(lambda: heights()[3] > wide[3], timeout=3000)  # narrower: more lines
    view.setStyleSheet("font-size: 30pt")
    assert heights()[1] > wide[1], "a bigger font: taller rows"


def test_the_json_editor_refuses_what_the_protocol_refuses() -> None:
    assert json_problem("[NaN]") == "NaN is not valid JSON"
    assert json_problem("[Infinity]") == "Infinity is not valid JSON"
    assert json_problem('{"a": 1}') is None
    assert json_problem("{bad") == (
        "line 1, column 2: Expecting property name enclosed in double quotes"
    )


def test_the_join_screen_stops_looking_and_says_none_were_found(qtbot: QtBot) -> None:
    page = JoinPage()
    qtbot.addWidget(page)
    page.search_timer.setInterval(50)
    page.show()
    assert "Looking" in page.found_hint.text()
    qtbot.waitUntil(lambda: page.found_hint.text() == NONE_FOUND)


def test_hosting_with_no_network_warns_and_offers_no_qr_code(qtbot: QtBot) -> None:
    room = RoomView()
    qtbot.addWidget(room)
    room.show()
    room.show_hosting(
        HostInfo(
            port=5042,
            own_url="ws://127.0.0.1:5042/chat",
            app_urls=("ws://127.0.0.1:5042/chat",),
            browser_urls=("http://127.0.0.1:5042/",),
            warning="no network address found: only this computer can join.",
        )
    )
    assert room.hosting.warning.isVisible()
    assert room.hosting.warning.text().startswith("No network address found")
    assert not room.hosting.qr.isVisible()


# -- themes --------------------------------------------------------------------------------------


def dark_palette() -> QPalette:
    """What a dark desktop theme (e.g. GTK's Adwaita:dark) hands Qt."""
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#242424",
        QPalette.ColorRole.WindowText: "#ffffff",
        QPalette.ColorRole.Base: "#1e1e1e",
        QPalette.ColorRole.AlternateBase: "#2a2a2a",
        QPalette.ColorRole.Text: "#ffffff",
        QPalette.ColorRole.Button: "#303030",
        QPalette.ColorRole.ButtonText: "#ffffff",
        QPalette.ColorRole.Mid: "#4a4a4a",
        QPalette.ColorRole.Highlight: "#3584e4",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#9a9a9a",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    return palette


def luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.redF())
        + 0.7152 * channel(colour.greenF())
        + 0.0722 * channel(colour.blueF())
    )


def contrast(a: QColor, b: QColor) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def best_contrast(widget: QWidget) -> float:
    """The contrast between a widget's background (its commonest colour) and the pixel
    furthest from it: text drawn in the background's own colour scores 1."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    counts: dict[int, int] = {}
    pixels = [
        image.pixel(x, y) for y in range(0, image.height(), 2) for x in range(0, image.width(), 2)
    ]
    for pixel in pixels:
        counts[pixel] = counts.get(pixel, 0) + 1
    background = QColor(max(counts, key=lambda key: counts[key]))
    return max(contrast(background, QColor(pixel)) for pixel in set(pixels))


@contextlib.contextmanager
def themed(theme: str) -> Iterator[None]:
    """The app in the ``light`` or ``dark`` palette with its own stylesheet, then as before."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    saved_palette, saved_sheet = app.palette(), app.styleSheet()
    app.setPalette(dark_palette() if theme == "dark" else app.style().standardPalette())
    style(app)
    try:
        yield
    finally:
        app.setPalette(saved_palette)
        app.setStyleSheet(saved_sheet)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_messages_names_members_and_status_are_readable_in_light_and_dark_themes(
    qtbot: QtBot, theme: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with themed(theme):
        room = RoomView()
        qtbot.addWidget(room)
        room.resize(900, 500)
        room.show()
        qtbot.waitExposed(room)
        room.enter("chat", "ada", ["ada", "bob"])
        room.set_state("open", "open")
        for n in range(5):
            room.add_row(row(n, sender="bob" if n % 2 else "ada", text="readable text " * 3))
        room.models[Kind.TEXT].flush()
        qtbot.wait(50)
        shot = tmp_path_factory.mktemp("themes") / f"room-{theme}.png"
        room.grab().save(str(shot))
        list_view = room.text_pane.view
        parts = {
            "messages": list_view.viewport(),
            "members": room.findChild(QWidget, "members"),
            "state": room.state,
            "title": room.title,
        }
        for name, widget in parts.items():
            assert widget is not None, name
            assert best_contrast(widget) >= 4.5, f"{name} unreadable in the {theme} theme"
        # The delegate paints names on the list's base colour: each must stand out from it.
        base = list_view.palette().color(QPalette.ColorRole.Base)
        colours = SenderColours()
        ten = [f"member{n}" for n in range(10)]
        for sender in ten:
            assert contrast(colours.colour(sender, base), base) >= 3.0, (sender, theme)
        # Ten members, ten colours that stay apart (not two of them the same shade).
        shades = [colours.colour(sender, base) for sender in ten]
        for one in range(10):
            for other in range(one):
                a, b = shades[one], shades[other]
                hue = abs(a.hslHueF() - b.hslHueF())
                apart = min(hue, 1 - hue) + abs(a.lightnessF() - b.lightnessF())
                assert apart >= 0.05, (ten[one], ten[other], theme)


def test_a_senders_colour_is_the_same_in_the_next_session_whoever_spoke_first() -> None:
    base = QColor("white")
    today, tomorrow = SenderColours(), SenderColours()
    names = ["ada", "bob", "cy", "eve", "fay", "hal"]  # six different slots
    first = {name: today.colour(name, base).name() for name in names}
    second = {name: tomorrow.colour(name, base).name() for name in reversed(names)}
    assert first == second


def test_the_filter_counts_its_matches_clears_with_escape_and_keeps_the_selection(
    qtbot: QtBot,
) -> None:
    view = RoomView()
    shown(qtbot, view, 1000, 700)
    model = view.models[Kind.TEXT]
    fill(model, 0, 30)
    view.filter.setText("message 2")  # 2 and 20-29
    assert view.matches.isVisible()
    assert view.matches.text() == "11 matches"
    pane = view.text_pane
    found = pane.proxy.index(5, 0)
    assert found.data(ROW_ROLE).text == "message 24"
    pane.view.setCurrentIndex(found)
    view.filter.setFocus()
    qtbot.keyClick(view.filter, Qt.Key.Key_Escape)
    assert view.filter.text() == ""
    assert not view.matches.isVisible()
    assert pane.view.currentIndex().data(ROW_ROLE).text == "message 24", "still selected"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_spin_boxes_draw_their_arrows_in_both_themes(qtbot: QtBot, theme: str) -> None:
    with themed(theme):
        box = QSpinBox()
        qtbot.addWidget(box)
        box.setRange(1, 65535)
        box.resize(160, 34)
        box.show()
        qtbot.waitExposed(box)
        image = box.grab().toImage()
        arrow = QColor("#7a8290")
        rows: dict[int, int] = {}
        for y in range(image.height()):
            for x in range(image.width() - 24, image.width()):
                pixel = image.pixelColor(x, y)
                near = max(abs(pixel.red() - arrow.red()), abs(pixel.blue() - arrow.blue()))
                if near < 40 and pixel.alpha() > 200:
                    rows[y] = rows.get(y, 0) + 1
        # Two triangles: each several rows tall, wider at the base (not a flat dash).
        assert len(rows) >= 6, f"arrows drawn in {len(rows)} rows"
        assert max(rows.values()) >= 5


def test_a_row_found_far_back_stays_selected_when_the_filter_clears_in_a_followed_list(
    qtbot: QtBot,
) -> None:
    view = RoomView()
    shown(qtbot, view, 1000, 700)
    model = view.models[Kind.TEXT]
    pane = view.text_pane
    fill(model, 0, 600)
    qtbot.wait(50)
    assert model.hidden > 0, "a followed list holds its older rows back"
    view.filter.setText("message 7")  # 7, 70-79, 700+ … the oldest far above the tail
    pane.view.setCurrentIndex(pane.proxy.index(0, 0))
    assert pane.view.currentIndex().data(ROW_ROLE).text == "message 7"
    view.filter.clear()
    qtbot.wait(50)
    assert pane.view.currentIndex().data(ROW_ROLE).text == "message 7", "still selected"
    fill(model, 600, 20)  # more come in: the list must not trim the selection away
    qtbot.wait(50)
    assert pane.view.currentIndex().data(ROW_ROLE).text == "message 7"
    assert pane.view.visualRect(pane.view.currentIndex()).intersects(pane.view.viewport().rect())
