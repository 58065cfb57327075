// Client of the Socket.IO demo (section 12.3): connects to this page's own origin, lists
// every `news` and answers it with `reply`. `?transport=websocket` skips long-polling.
(function () {
    'use strict';

    var REPLY = 'Hello Node.JS';
    // Keeps the page light when a tab stays open for hours.
    var MAX_ITEMS = 100;

    var statusEl = document.getElementById('io-status');
    var transportEl = document.getElementById('io-transport');
    var idEl = document.getElementById('io-id');
    var listEl = document.getElementById('io-messages');

    function setStatus(text, state) {
        statusEl.textContent = text;
        statusEl.className = 'status status-' + state;
    }

    function addMessage(text, direction) {
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
    }

    var options = { path: '/socket.io' };
    if (new URLSearchParams(location.search).get('transport') === 'websocket') {
        options.transports = ['websocket'];
    }
    // No URL: the page's own origin.
    var socket = io(options);

    function showTransport() {
        transportEl.textContent = socket.io.engine ? socket.io.engine.transport.name : '-';
    }

    socket.on('connect', function () {
        setStatus('연결됨', 'open');
        idEl.textContent = socket.id;
        showTransport();
        socket.io.engine.once('upgrade', showTransport);
    });

    socket.on('news', function (data) {
        addMessage(String(data), 'in');
        socket.emit('reply', REPLY);
        addMessage(REPLY, 'out');
    });

    socket.on('connect_error', function (error) {
        setStatus('연결 오류: ' + error.message, 'error');
    });

    socket.on('disconnect', function (reason) {
        setStatus('연결 끊김 (' + reason + ')', 'closed');
    });
})();
