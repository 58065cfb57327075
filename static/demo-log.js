// Shared by the two demo pages: a connection status badge and a list of the messages
// received and sent, newest first, each labelled with its direction.
window.demoLog = function (statusEl, listEl) {
    'use strict';

    // Keeps the page light when a tab stays open for hours.
    var MAX_ITEMS = 100;
    var LABELS = { in: '← 받음', out: '→ 보냄' };

    return {
        setStatus: function (text, state) {
            statusEl.textContent = text;
            statusEl.className = 'status status-' + state;
        },
        // `direction` is 'in' (from the server) or 'out' (this page's answer).
        addMessage: function (text, direction) {
            var item = document.createElement('li');
            item.className = 'message message-' + direction;
            var time = document.createElement('time');
            time.textContent = new Date().toLocaleTimeString('ko-KR');
            var label = document.createElement('span');
            label.className = 'message-dir';
            label.textContent = LABELS[direction];
            var body = document.createElement('span');
            // textContent, never innerHTML: the data comes from the network.
            body.textContent = text;
            item.appendChild(time);
            item.appendChild(label);
            item.appendChild(body);
            listEl.insertBefore(item, listEl.firstChild);
            while (listEl.children.length > MAX_ITEMS) {
                listEl.removeChild(listEl.lastChild);
            }
        },
    };
};
