// Client of the raw WebSocket demo (section 12.2): connects to this page's own origin,
// lists every message from the server and answers each one.
(function () {
    'use strict';

    var REPLY = '클라이언트에서 서버로 답장을 보냅니다.';
    var log = window.demoLog(
        document.getElementById('ws-status'),
        document.getElementById('ws-messages')
    );

    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
    var webSocket = new WebSocket(url);

    webSocket.onopen = function () {
        log.setStatus('연결됨', 'open');
        console.log('서버와 웹 소켓 연결에 성공하였습니다.');
    };

    webSocket.onmessage = function (event) {
        log.addMessage(event.data, 'in');
        webSocket.send(REPLY);
        log.addMessage(REPLY, 'out');
    };

    webSocket.onerror = function () {
        log.setStatus('오류 발생', 'error');
    };

    webSocket.onclose = function (event) {
        log.setStatus('연결 끊김 (코드 ' + event.code + ')', 'closed');
    };
})();
