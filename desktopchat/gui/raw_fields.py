"""The Join form's fields for any WebSocket endpoint: a switch, and under "Advanced" the
handshake's subprotocols, headers and Origin, and insecure TLS."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktopchat.client.raw import RawOptions, parse_header


class RawFields(QWidget):
    """``raw`` switches the form to any endpoint; :meth:`options` reads the rest."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.raw = QCheckBox("Plain WebSocket (any server, not a desktopchat room)")
        self.raw.setToolTip(
            "Frames go out and come in as they are, in the Text, JSON and Binary panes"
        )
        self.toggle = QToolButton()
        self.toggle.setText("Advanced ▸")
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.subprotocols = QLineEdit()
        self.subprotocols.setPlaceholderText("chat.v2, graphql-ws (in order of preference)")
        self.headers = QPlainTextEdit()
        self.headers.setPlaceholderText("Authorization: Bearer …\nX-Api-Key: …")
        self.headers.setMaximumHeight(70)
        self.origin = QLineEdit()
        self.origin.setPlaceholderText("https://example.org (sent as the Origin header)")
        self.variables = QPlainTextEdit()
        self.variables.setPlaceholderText(
            "host = api.example.org\n(fill {{host}} in the address, headers and messages)"
        )
        self.variables.setMaximumHeight(70)
        self.insecure = QCheckBox("Accept any TLS certificate without checking it (insecure)")
        self.advanced = QWidget()
        form = QFormLayout(self.advanced)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Subprotocols", self.subprotocols)
        form.addRow("Headers", self.headers)
        form.addRow("Origin", self.origin)
        form.addRow("Variables", self.variables)
        form.addRow("", self.insecure)
        self.advanced.hide()
        self.toggle.toggled.connect(self._show_advanced)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.raw)
        layout.addWidget(self.toggle)
        layout.addWidget(self.advanced)

    def _show_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.toggle.setText("Advanced ▾" if shown else "Advanced ▸")

    def fill(self, options: RawOptions, variables: dict[str, str] | None = None) -> None:
        """Show ``options`` (a saved connection) and the endpoint's ``variables``,
        Advanced open when there are any."""
        self.variables.setPlainText(
            "\n".join(f"{name} = {value}" for name, value in (variables or {}).items())
        )
        self.raw.setChecked(True)
        self.subprotocols.setText(", ".join(options.subprotocols))
        self.headers.setPlainText("\n".join(f"{name}: {value}" for name, value in options.headers))
        self.origin.setText(options.origin or "")
        self.insecure.setChecked(options.insecure)
        advanced = bool(options.subprotocols or options.headers or options.origin or variables)
        self.toggle.setChecked(advanced or options.insecure)

    def options(self) -> RawOptions:
        """What the fields say; ``ValueError`` names a header that is not one."""
        subprotocols = tuple(
            name.strip() for name in self.subprotocols.text().split(",") if name.strip()
        )
        lines = self.headers.toPlainText().splitlines()
        headers = tuple(parse_header(line) for line in lines if line.strip())
        return RawOptions(
            subprotocols=subprotocols,
            headers=headers,
            origin=self.origin.text().strip() or None,
            insecure=self.insecure.isChecked(),
        )
