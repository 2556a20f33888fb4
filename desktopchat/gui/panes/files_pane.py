"""The Files pane: every file offered in the room, sent or fetched, with its progress, speed
and time left; pause, resume, cancel; a thumbnail for pictures; *Open folder* when done.

Files and folders dropped on the room (or picked with *Send files…* / *Send folder…*) go up
beside the chat; an offered file comes down only when the user asks (*Download* to the
Downloads folder, *Save to…* elsewhere). Nothing is opened by itself.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QIcon,
    QImageReader,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFileIconProvider,
    QListView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktopchat.client.transfers import UNFINISHED, Direction, State, Transfer
from desktopchat.gui.elided import ElidedLabel
from desktopchat.gui.places import download_folder, open_folder

ICON = 40
"""Thumbnails and icons, in pixels."""
THUMBNAIL_MAX_BYTES = 64 * 1024 * 1024
"""Pictures bigger than this get the file icon: a thumbnail must not stall the window."""
_DROP_HERE = "Drop files or folders here to send them"

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
StatusRole = Qt.ItemDataRole.UserRole + 1
ProgressRole = Qt.ItemDataRole.UserRole + 2


class TransferListModel(QAbstractListModel):
    """The room's transfers, newest last; told of each change by :meth:`changed`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Transfer] = []
        self._thumbnails: dict[Path, QPixmap] = {}
        self._icons = QFileIconProvider()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: how many transfers."""
        return 0 if parent.isValid() else len(self.rows)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        """Qt: a transfer's name, status, progress, icon and tooltip."""
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        transfer = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return transfer.offer.relative_path if transfer.offer else transfer.name
        if role == StatusRole:
            arrow = "↑" if transfer.direction is Direction.UP else "↓"
            return f"{arrow} {transfer.status()}"
        if role == ProgressRole:
            showing = transfer.state in UNFINISHED and transfer.total > 0
            return transfer.done / transfer.total if showing else -1.0
        if role == Qt.ItemDataRole.DecorationRole:
            return self._picture(transfer)
        if role == Qt.ItemDataRole.ToolTipRole:
            sha = f"\nSHA-256 {transfer.offer.sha256}" if transfer.offer else ""
            where = f"\n{transfer.local_path}" if transfer.local_path else ""
            return f"{transfer.name}{where}{sha}"
        return None

    def changed(self, transfer: Transfer) -> None:
        """Show ``transfer`` (new, or changed)."""
        if transfer in self.rows:
            row = self.index(self.rows.index(transfer))
            self.dataChanged.emit(row, row)
            return
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
        self.rows.append(transfer)
        self.endInsertRows()

    def remove(self, transfer: Transfer) -> None:
        """Take ``transfer`` off the list."""
        if transfer in self.rows:
            row = self.rows.index(transfer)
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.rows[row]
            self.endRemoveRows()

    def clear(self) -> None:
        """No transfers (another room)."""
        self.beginResetModel()
        self.rows.clear()
        self._thumbnails.clear()
        self.endResetModel()

    def _picture(self, transfer: Transfer) -> QIcon | QPixmap:
        path = transfer.local_path
        whole = transfer.state is State.DONE or transfer.direction is Direction.UP
        if path is not None and whole and transfer.mime.startswith("image/"):
            if path not in self._thumbnails and transfer.total <= THUMBNAIL_MAX_BYTES:
                reader = QImageReader(str(path))
                size = reader.size()
                if size.isValid():
                    size.scale(ICON, ICON, Qt.AspectRatioMode.KeepAspectRatio)
                    reader.setScaledSize(size)
                image = reader.read()
                self._thumbnails[path] = (
                    QPixmap.fromImage(image) if not image.isNull() else QPixmap()
                )
            thumbnail = self._thumbnails.get(path)
            if thumbnail is not None and not thumbnail.isNull():
                return thumbnail
        kind = (
            QFileIconProvider.IconType.Folder
            if transfer.folder
            else QFileIconProvider.IconType.File
        )
        return self._icons.icon(kind)


class TransferDelegate(QStyledItemDelegate):
    """A transfer as two lines beside its picture, with a progress bar while unfinished."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        """Qt: room for the picture, two lines and the bar."""
        return QSize(option.rect.width(), ICON + 16)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        """Qt: draw one transfer."""
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawPrimitive(
            QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget
        )
        rect = option.rect.adjusted(6, 8, -6, -8)
        picture = index.data(Qt.ItemDataRole.DecorationRole)
        target = QRect(rect.left(), rect.top(), ICON, ICON)
        if isinstance(picture, QPixmap):
            shown = picture.scaled(ICON, ICON, Qt.AspectRatioMode.KeepAspectRatio)
            painter.drawPixmap(target.topLeft(), shown)
        elif isinstance(picture, QIcon):
            picture.paint(painter, target)
        text = rect.adjusted(ICON + 10, 0, 0, 0)
        progress = float(index.data(ProgressRole))
        if progress >= 0:
            text.setRight(text.right() - 170)
        painter.save()
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        name_line = QRect(text.left(), text.top(), text.width(), text.height() // 2)
        name = painter.fontMetrics().elidedText(
            str(index.data()), Qt.TextElideMode.ElideMiddle, name_line.width()
        )
        painter.drawText(
            name_line, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name
        )
        painter.setFont(option.font)
        status_line = QRect(text.left(), name_line.bottom(), text.width(), text.height() // 2)
        status = painter.fontMetrics().elidedText(
            str(index.data(StatusRole)), Qt.TextElideMode.ElideRight, status_line.width()
        )
        painter.drawText(
            status_line, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, status
        )
        painter.restore()
        if progress >= 0:
            bar = QStyleOptionProgressBar()
            bar.rect = QRect(rect.right() - 160, rect.center().y() - 8, 160, 16)
            bar.minimum, bar.maximum = 0, 1000
            bar.progress = int(progress * 1000)
            bar.textVisible = False
            bar.state = QStyle.StateFlag.State_Enabled
            style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)


class FilesPane(QWidget):
    """The list and its actions; emits what the user asks, the window's transfers do it."""

    sendRequested = Signal(list)  # list[Path]: files and folders to send
    fetchRequested = Signal(object, object)  # Transfer, Path: the folder it goes into
    pauseRequested = Signal(object)
    resumeRequested = Signal(object)
    cancelRequested = Signal(object)
    forgetRequested = Signal(object)

    def __init__(self, model: TransferListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.model = model
        self.view = QListView()
        self.view.setModel(model)
        self.view.setItemDelegate(TransferDelegate(self.view))
        self.view.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.view.setUniformItemSizes(True)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.doubleClicked.connect(self._double_clicked)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        model.dataChanged.connect(self._update_buttons)
        model.rowsInserted.connect(self._update_buttons)

        self.status = ElidedLabel(_DROP_HERE)
        self.status.setObjectName("hint")
        # A tool bar, not a row of buttons: narrowed, it folds what does not fit into its »
        # menu instead of setting the window's minimum width.
        bar = QToolBar()
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.commands: dict[str, QAction] = {}
        for label, slot in (
            ("Send files…", self._ask_for_files),
            ("Send folder…", self._ask_for_folder),
            ("", None),
            ("Download", self._download),
            ("Save to…", self._save_to),
            ("Pause", self._pause),
            ("Resume", self._resume),
            ("Cancel", self._cancel),
            ("Open folder", self._open_folder),
        ):
            if slot is None:
                bar.addSeparator()
                continue
            action = self.commands[label] = bar.addAction(label)
            action.triggered.connect(slot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        self._update_buttons()

    # -- the selection and its actions -------------------------------------------------------

    def selected(self) -> list[Transfer]:
        """The transfers selected, in list order."""
        rows = sorted(index.row() for index in self.view.selectionModel().selectedRows())
        return [self.model.rows[row] for row in rows if row < len(self.model.rows)]

    def _update_buttons(self) -> None:
        chosen = self.selected()
        states = {transfer.state for transfer in chosen}
        fetchable = {State.OFFERED, State.CANCELLED}
        downs = [t for t in chosen if t.direction is Direction.DOWN]
        self.commands["Download"].setEnabled(any(t.state in fetchable for t in downs))
        self.commands["Save to…"].setEnabled(any(t.state in fetchable for t in downs))
        self.commands["Pause"].setEnabled(bool(states & {State.WAITING, State.RUNNING}))
        self.commands["Resume"].setEnabled(bool(states & {State.PAUSED, State.FAILED}))
        self.commands["Cancel"].setEnabled(bool(states & set(UNFINISHED)))
        self.commands["Open folder"].setEnabled(any(t.local_path for t in chosen))

    def _download(self) -> None:
        self.fetch_into(download_folder())

    def _save_to(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save to", str(download_folder()))
        if folder:
            self.fetch_into(Path(folder))

    def fetch_into(self, folder: Path) -> None:
        """Fetch the selected offered files into ``folder``."""
        for transfer in self.selected():
            if transfer.direction is Direction.DOWN:
                self.fetchRequested.emit(transfer, folder)

    def _pause(self) -> None:
        for transfer in self.selected():
            self.pauseRequested.emit(transfer)

    def _resume(self) -> None:
        for transfer in self.selected():
            self.resumeRequested.emit(transfer)

    def _cancel(self) -> None:
        for transfer in self.selected():
            self.cancelRequested.emit(transfer)

    def _open_folder(self) -> None:
        """Show the folder holding the file, in the file manager (never the file itself:
        opening a file someone sent could run it)."""
        folders = {t.local_path.parent for t in self.selected() if t.local_path}
        for folder in sorted(folders):
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _double_clicked(self, index: QModelIndex) -> None:
        transfer = self.model.rows[index.row()]
        if transfer.state is State.OFFERED:
            self.fetchRequested.emit(transfer, download_folder())
        elif transfer.local_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(transfer.local_path.parent)))

    def _menu(self, where: QPoint) -> None:
        menu = QMenu(self)
        for label in ("Download", "Save to…", "Pause", "Resume", "Cancel", "Open folder"):
            menu.addAction(self.commands[label])
        menu.addSeparator()
        finished = [t for t in self.selected() if t.state not in (State.WAITING, State.RUNNING)]
        forget = menu.addAction("Remove from the list")
        forget.setEnabled(bool(finished))
        forget.triggered.connect(lambda: self._forget(finished))
        menu.popup(self.view.viewport().mapToGlobal(where))

    def _forget(self, transfers: list[Transfer]) -> None:
        for transfer in transfers:
            self.forgetRequested.emit(transfer)

    # -- sending -----------------------------------------------------------------------------

    def _ask_for_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Send files", open_folder())
        if paths:
            self.sendRequested.emit([Path(path) for path in paths])

    def _ask_for_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Send folder", open_folder())
        if folder:
            self.sendRequested.emit([Path(folder)])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Qt: take files and folders."""
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Qt: send what was dropped."""
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.sendRequested.emit(paths)
            event.acceptProposedAction()

    def say(self, words: str) -> None:
        """A line under the list: why something was not sent, or the drop hint."""
        self.status.setText(words or _DROP_HERE)
