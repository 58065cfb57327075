// Shared by the two demo pages: a connection status badge and a list of messages.
window.demoLog = function (statusEl, listEl) {
    'use strict';

    // Keeps the page light when a tab stays open for hours.
    var MAX_ITEMS = 100;

    return {
        setStatus: function (text, state) {
            statusEl.textContent = text;
            statusEl.className = 'status status-' + state;
        },
        addMessage: function (text, direction) {
            var item = document.createElement('li');
            item.className = 'message message-' + direction;
            var time = document.createElement('time');
            time.textContent = new Date().toLocaleTimeString();
            var body = document.createElement('span');
            // textContent, never innerHTML: the data comes from the network.
            body.textContent = text;
            item.appendChild(time);
            item.appendChild(body);
            listEl.insertBefore(item, listEl.firstChild);
            while (listEl.children.length > MAX_ITEMS) {
                listEl.removeChild(listEl.lastChild);
            }
        },
    };
};
