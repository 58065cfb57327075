// Client of the raw WebSocket demo (section 12.2): connects to this page's own origin,
// lists every message from the server and answers each one.
(function () {
    'use strict';

    var REPLY = '클라이언트에서 서버로 답장을 보냅니다.';
    // Keeps the page light when a tab stays open for hours.
    var MAX_ITEMS = 100;

    var statusEl = document.getElementById('ws-status');
    var listEl = document.getElementById('ws-messages');

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

    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
    var webSocket = new WebSocket(url);

    webSocket.onopen = function () {
        setStatus('연결됨', 'open');
        console.log('서버와 웹 소켓 연결에 성공하였습니다.');
    };

    webSocket.onmessage = function (event) {
        addMessage(event.data, 'in');
        webSocket.send(REPLY);
        addMessage(REPLY, 'out');
    };

    webSocket.onerror = function () {
        setStatus('오류 발생', 'error');
    };

    webSocket.onclose = function (event) {
        setStatus('연결 끊김 (코드 ' + event.code + ')', 'closed');
    };
})();
