// A chat room page (GET /room/:id): joins `/chat` with the room in the handshake auth,
// shows chats, whispers and the participants live, sends text with an ack, uploads images
// with fetch. Everything from the network goes in with textContent only.
(function () {
    'use strict';

    var ACK_TIMEOUT_MS = 5000;
    var LEAVE_DELAY_MS = 2000;
    var MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
    // Refusals the room page itself also checks: going there lands on the list with the
    // reason as its message.
    var RECHECKED = ['존재하지 않는 방입니다.', '강퇴당한 방에는 다시 들어갈 수 없습니다.', '허용 인원이 초과하였습니다.'];

    var root = document.getElementById('chat');
    var roomId = Number(root.dataset.room);
    var me = root.dataset.me;
    var owner = root.dataset.owner;
    var max = Number(root.dataset.max);
    var roomUrl = '/room/' + roomId;

    var listEl = document.getElementById('chat-list');
    var peopleEl = document.getElementById('participants');
    var peopleCountEl = document.getElementById('people-count');
    var ownerEl = document.getElementById('owner');
    var statusEl = document.getElementById('chat-status');
    var formEl = document.getElementById('chat-form');
    var textEl = document.getElementById('chat-text');
    var toEl = document.getElementById('whisper-to');
    var gifForm = document.getElementById('gif-form');
    var gifInput = document.getElementById('gif');
    var deleteBtn = document.getElementById('delete-room');
    var people = [];
    var leaving = false;

    function showStatus(text) {
        statusEl.textContent = text;
        statusEl.hidden = false;
    }

    function clearStatus() {
        if (!leaving) statusEl.hidden = true;
    }

    // Shows why, then leaves the room for good.
    function leave(message, url) {
        leaving = true;
        showStatus(message);
        formEl.querySelector('button').disabled = true;
        textEl.disabled = true;
        gifInput.disabled = true;
        socket.disconnect();
        setTimeout(function () { location.href = url; }, LEAVE_DELAY_MS);
    }

    function el(tag, className, text) {
        var node = document.createElement(tag);
        if (className) node.className = className;
        if (text !== undefined) node.textContent = text;
        return node;
    }

    function showTime(timeEl) {
        var ms = Number(timeEl.dataset.ms);
        timeEl.dateTime = new Date(ms).toISOString();
        timeEl.textContent = new Date(ms).toLocaleTimeString('ko-KR', { hour: '2-digit', minute: '2-digit' });
    }

    function scrollDown() {
        listEl.scrollTop = listEl.scrollHeight;
    }

    // The same markup as templates/chat.html.
    function chatItem(chat) {
        var item;
        if (chat.kind === 'system') {
            item = el('li', 'chat-item chat-system');
            var notice = el('span', 'chat-notice', chat.body);
            notice.style.color = chat.colour;
            item.appendChild(notice);
        } else {
            item = el('li', 'chat-item chat-' + chat.kind + (chat.user === me ? ' mine' : ' other'));
            var bubble = el('div', 'chat-bubble');
            var user = el('div', 'chat-user', chat.colour);
            user.style.color = chat.colour;
            if (chat.kind === 'whisper') {
                var tag = el('span', 'whisper-tag', '귓속말 → ');
                var target = el('span', null, chat.target_colour || '');
                target.style.color = chat.target_colour || '';
                tag.appendChild(target);
                user.appendChild(document.createTextNode(' '));
                user.appendChild(tag);
            }
            bubble.appendChild(user);
            if (chat.kind === 'gif') {
                var img = el('img', 'chat-gif');
                img.src = '/gif/' + encodeURIComponent(chat.body);
                img.alt = chat.colour + '님이 올린 이미지';
                img.addEventListener('load', scrollDown);
                bubble.appendChild(img);
            } else {
                var text = el('div', 'chat-text', chat.body);
                text.style.color = chat.colour;
                bubble.appendChild(text);
            }
            var time = el('time', 'chat-time');
            time.dataset.ms = String(chat.created_at);
            showTime(time);
            bubble.appendChild(time);
            item.appendChild(bubble);
        }
        item.dataset.chatId = String(chat.id);
        return item;
    }

    // Each chat once, whichever way it came.
    function append(chat) {
        if (listEl.querySelector('[data-chat-id="' + Number(chat.id) + '"]')) return;
        listEl.appendChild(chatItem(chat));
        scrollDown();
    }

    function kick(person) {
        if (!confirm(person.colour + '님을 강퇴할까요?')) return;
        socket.timeout(ACK_TIMEOUT_MS).emit('kick', { id: person.id }, function (err, reply) {
            if (err) showStatus('강퇴하지 못했습니다. 다시 시도해 주세요.');
            else if (!reply.ok) showStatus(reply.error);
        });
    }

    function renderPeople() {
        var selected = toEl.value;
        peopleEl.textContent = '';
        while (toEl.options.length > 1) toEl.remove(1);
        people.forEach(function (person) {
            var item = el('li', 'person');
            item.dataset.id = person.id;
            var swatch = el('span', 'swatch');
            swatch.style.background = person.colour;
            var name = el('span', 'person-name', person.colour);
            name.style.color = person.colour;
            item.appendChild(swatch);
            item.appendChild(name);
            if (person.owner) item.appendChild(el('span', 'badge', '방장'));
            if (person.id === me) {
                item.appendChild(el('span', 'badge', '나'));
            } else {
                var option = el('option', null, person.colour + '에게 귓속말');
                option.value = person.id;
                toEl.appendChild(option);
                if (owner === me) {
                    var button = el('button', 'button button-small button-danger', '강퇴');
                    button.type = 'button';
                    button.addEventListener('click', function () { kick(person); });
                    item.appendChild(button);
                }
            }
            peopleEl.appendChild(item);
        });
        // Keep the whisper target while they are still here.
        toEl.value = people.some(function (p) { return p.id === selected; }) ? selected : '';
        peopleCountEl.textContent = people.length + ' / ' + max;
    }

    Array.prototype.forEach.call(listEl.querySelectorAll('time[data-ms]'), showTime);
    scrollDown();

    var socket = io('/chat', { path: '/socket.io', auth: { room: roomId } });

    socket.on('connect', clearStatus);

    socket.on('connect_error', function (error) {
        // `active` is false when the server refused us (rather than the network failing).
        if (socket.active) {
            showStatus('연결하지 못했습니다. 다시 시도하는 중…');
        } else {
            leave(error.message, RECHECKED.indexOf(error.message) >= 0 ? roomUrl : '/');
        }
    });

    socket.on('disconnect', function () {
        if (socket.active) showStatus('연결이 끊겼습니다. 다시 연결하는 중…');
    });

    socket.on('refused', function (data) {
        leave(data.message, roomUrl);
    });

    socket.on('kicked', function (data) {
        // The room page refuses the banned, so the list shows why.
        leave(data.message, roomUrl);
    });

    socket.on('roomRemoved', function (data) {
        leave(data.message, '/');
    });

    socket.on('participants', function (list) {
        people = Array.isArray(list) ? list : [];
        renderPeople();
    });

    socket.on('owner', function (data) {
        owner = data.id;
        ownerEl.textContent = data.colour;
        ownerEl.style.color = data.colour;
        deleteBtn.hidden = owner !== me;
        renderPeople();
    });

    socket.on('chat', append);
    socket.on('whisper', append);

    formEl.addEventListener('submit', function (event) {
        event.preventDefault();
        var text = textEl.value;
        if (!text.trim()) return;
        var to = toEl.value;
        var name = to ? 'whisper' : 'chat';
        var data = to ? { to: to, text: text } : { text: text };
        // The chat itself comes back as a `chat` (or `whisper`) event, for everyone alike.
        socket.timeout(ACK_TIMEOUT_MS).emit(name, data, function (err, reply) {
            if (err) {
                showStatus('메시지를 보내지 못했습니다. 다시 시도해 주세요.');
            } else if (!reply.ok) {
                showStatus(reply.error);
            } else {
                clearStatus();
                if (textEl.value === text) textEl.value = '';
            }
        });
    });

    gifInput.addEventListener('change', function () {
        var file = gifInput.files[0];
        if (!file) return;
        if (file.size > MAX_UPLOAD_BYTES) {
            showStatus('파일 크기는 5MB 이하여야 합니다.');
            gifInput.value = '';
            return;
        }
        var body = new FormData();
        body.append('gif', file);
        fetch(gifForm.action, {
            method: 'POST',
            body: body,
            headers: { Accept: 'application/json' },
            credentials: 'same-origin'
        }).then(function (res) {
            return res.json().catch(function () { return { ok: res.ok }; });
        }).then(function (reply) {
            if (reply.ok) clearStatus();
            else showStatus(reply.error || '이미지를 올리지 못했습니다.');
        }).catch(function () {
            showStatus('이미지를 올리지 못했습니다.');
        }).then(function () {
            // Cleared, so choosing the same file again uploads it again.
            gifInput.value = '';
        });
    });

    deleteBtn.addEventListener('click', function () {
        if (!confirm('방을 삭제할까요? 대화와 이미지가 모두 지워집니다.')) return;
        fetch(roomUrl, {
            method: 'DELETE',
            headers: { Accept: 'application/json' },
            credentials: 'same-origin'
        }).then(function (res) {
            return res.json();
        }).then(function (reply) {
            if (reply.ok) location.href = '/';
            else showStatus(reply.error);
        }).catch(function () {
            showStatus('방을 삭제하지 못했습니다.');
        });
    });
})();
