// Client of the Socket.IO demo (section 12.3): connects to this page's own origin, lists
// every `news` and answers it with `reply`. `?transport=websocket` skips long-polling.
(function () {
    'use strict';

    var REPLY = 'Hello Node.JS';
    var transportEl = document.getElementById('io-transport');
    var idEl = document.getElementById('io-id');
    var log = window.demoLog(
        document.getElementById('io-status'),
        document.getElementById('io-messages')
    );

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
        log.setStatus('연결됨', 'open');
        idEl.textContent = socket.id;
        showTransport();
        socket.io.engine.once('upgrade', showTransport);
    });

    socket.on('news', function (data) {
        log.addMessage(String(data), 'in');
        socket.emit('reply', REPLY);
        log.addMessage(REPLY, 'out');
    });

    socket.on('connect_error', function (error) {
        log.setStatus('연결 오류: ' + error.message, 'error');
    });

    socket.on('disconnect', function (reason) {
        log.setStatus('연결 끊김 (' + reason + ')', 'closed');
    });
})();
