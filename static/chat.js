// A chat room page (GET /room/:id): joins `/chat` with the room in the handshake auth,
// shows chats, whispers and the participants live, sends text with an ack, uploads images
// with fetch. New chats and participants are copies of the page's <template>s, which the
// server renders from the same macros as the history, so both look alike. Everything from
// the network goes in with textContent only.
(function () {
    'use strict';

    var ACK_TIMEOUT_MS = 5000;
    var LEAVE_DELAY_MS = 2000;
    // How long 방 나가기 waits for the goodbye to leave before going anyway.
    var EXIT_WAIT_MS = 1000;
    var MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
    var PLACEHOLDER = '메시지를 입력하세요';
    // Refusals the room page itself also checks: going there lands on the list with the
    // reason as its message.
    var RECHECKED = ['존재하지 않는 방입니다.', '강퇴당한 방에는 다시 들어갈 수 없습니다.', '허용 인원이 초과하였습니다.'];

    var root = document.getElementById('chat');
    var roomId = Number(root.dataset.room);
    var me = root.dataset.me;
    var max = Number(root.dataset.max);
    var roomUrl = '/room/' + roomId;

    var listEl = document.getElementById('chat-list');
    var peopleEl = document.getElementById('participants');
    var peopleCountEl = document.getElementById('people-count');
    var ownerEl = document.querySelector('.owner-name');
    var statusEl = document.getElementById('chat-status');
    var formEl = document.getElementById('chat-form');
    var textEl = document.getElementById('chat-text');
    var toEl = document.getElementById('whisper-to');
    var gifForm = document.getElementById('gif-form');
    var gifInput = document.getElementById('gif');
    var deleteBtn = document.getElementById('delete-room');
    var exitBtn = document.getElementById('exit-btn');
    var people = [];
    // Whose the room is, as the server's participant list last said.
    var owner = root.dataset.owner;
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

    // A fresh copy of the <template> with this id.
    function copy(id) {
        return document.getElementById(id).content.firstElementChild.cloneNode(true);
    }

    function setTone(node, tone) {
        Array.prototype.slice.call(node.classList).forEach(function (name) {
            if (name.indexOf('tone-') === 0) node.classList.remove(name);
        });
        node.classList.add('tone-' + Number(tone));
    }

    // Fills a `who` (swatch and name) with a person's look.
    function setWho(node, name, tone) {
        node.querySelector('.who-name').textContent = name;
        setTone(node, tone);
    }

    function showTime(timeEl) {
        var ms = Number(timeEl.dataset.ms);
        timeEl.dateTime = new Date(ms).toISOString();
        timeEl.textContent = new Date(ms).toLocaleTimeString('ko-KR', { hour: '2-digit', minute: '2-digit' });
    }

    // Whether the list shows its end (as of its last scroll): new chats and images that
    // finish loading keep it there, without pulling back someone reading older chats.
    var atEnd = true;

    function scrollDown() {
        listEl.scrollTop = listEl.scrollHeight;
        atEnd = true;
    }

    function follow() {
        if (atEnd) scrollDown();
    }

    function chatItem(chat) {
        var item = copy('chat-item-' + chat.kind);
        item.dataset.chatId = String(chat.id);
        if (chat.kind === 'system') {
            var notice = item.querySelector('.chat-notice');
            notice.textContent = chat.body;
            setTone(notice, chat.tone);
            return item;
        }
        var mine = chat.user === me;
        item.classList.toggle('mine', mine);
        item.classList.toggle('other', !mine);
        setWho(item.querySelector('.chat-name'), chat.name, chat.tone);
        if (chat.kind === 'whisper') {
            setWho(item.querySelector('.whisper-target'), chat.target_name || '', chat.target_tone || 0);
        }
        if (chat.kind === 'gif') {
            var img = item.querySelector('.chat-gif');
            img.src = '/gif/' + encodeURIComponent(chat.body);
            img.alt = chat.name + '님이 올린 이미지';
            img.addEventListener('load', follow);
        } else {
            var text = item.querySelector('.chat-text');
            text.textContent = chat.body;
            setTone(text, chat.tone);
        }
        var time = item.querySelector('.chat-time');
        time.dataset.ms = String(chat.created_at);
        showTime(time);
        return item;
    }

    // Each chat once, whichever way it came, in the order of the chats' ids (what a page
    // catches up on can arrive after newer chats that came live).
    function append(chat) {
        if (['text', 'gif', 'whisper', 'system'].indexOf(chat.kind) < 0) return;
        var id = Number(chat.id);
        // From the newest back: a live chat goes at the end at once.
        var later = null;
        for (var item = listEl.lastElementChild; item; item = item.previousElementSibling) {
            var itemId = Number(item.dataset.chatId);
            if (itemId === id) return;
            if (itemId < id) break;
            later = item;
        }
        listEl.insertBefore(chatItem(chat), later);
        if (chat.user === me && chat.kind !== 'system') scrollDown();
        else follow();
    }

    function kick(person) {
        if (!confirm(person.name + '님을 강퇴할까요?')) return;
        socket.timeout(ACK_TIMEOUT_MS).emit('kick', { id: person.id }, function (err, reply) {
            if (err) showStatus('강퇴하지 못했습니다. 다시 시도해 주세요.');
            else if (!reply.ok) showStatus(reply.error);
        });
    }

    function personItem(person) {
        var item = copy('person-item');
        item.dataset.id = person.id;
        setWho(item.querySelector('.person-name'), person.name, person.tone);
        if (!person.owner) item.querySelector('.badge-owner').remove();
        if (person.id !== me) item.querySelector('.badge-me').remove();
        if (owner !== me || person.id === me) item.querySelector('.kick').remove();
        return item;
    }

    // The whisper box says whom it goes to while a target is chosen.
    function showTarget() {
        var option = toEl.options[toEl.selectedIndex];
        var whispering = toEl.value !== '';
        formEl.classList.toggle('whispering', whispering);
        textEl.placeholder = whispering ? option.dataset.name + '님에게 귓속말' : PLACEHOLDER;
    }

    // Everything that depends on who is here and whose the room is: the server's list is
    // the one truth, whatever the page was rendered with.
    function renderPeople() {
        var selected = toEl.value;
        var head = people.filter(function (p) { return p.owner; })[0];
        if (head) {
            owner = head.id;
            setWho(ownerEl, head.name, head.tone);
        }
        deleteBtn.hidden = owner !== me;
        peopleEl.textContent = '';
        while (toEl.options.length > 1) toEl.remove(1);
        people.forEach(function (person) {
            peopleEl.appendChild(personItem(person));
            if (person.id !== me) {
                var option = document.createElement('option');
                option.value = person.id;
                option.dataset.name = person.name;
                option.textContent = person.name + '님에게 귓속말';
                toEl.appendChild(option);
            }
        });
        // Keep the whisper target while they are still here.
        toEl.value = people.some(function (p) { return p.id === selected; }) ? selected : '';
        showTarget();
        peopleCountEl.textContent = people.length + ' / ' + max;
    }

    Array.prototype.forEach.call(listEl.querySelectorAll('time[data-ms]'), showTime);
    // The history's images load after this: each one makes the list taller.
    Array.prototype.forEach.call(listEl.querySelectorAll('img.chat-gif'), function (img) {
        if (!img.complete) img.addEventListener('load', follow);
    });
    listEl.addEventListener('scroll', function () {
        atEnd = listEl.scrollTop + listEl.clientHeight >= listEl.scrollHeight - 8;
    });
    scrollDown();

    // The last chat on the page (the list is in id order): the server sends what came
    // after it, so nothing is lost between the history and the socket's joining (nor while
    // it reconnects).
    function lastChatId() {
        var last = listEl.lastElementChild;
        return last ? Number(last.dataset.chatId) || 0 : 0;
    }

    var socket = io('/chat', {
        path: '/socket.io',
        auth: function (send) { send({ room: roomId, after: lastChatId() }); }
    });

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

    // The page missed more than the server sends on a reconnection: its history is reloaded.
    socket.on('reload', function () { location.reload(); });
    socket.on('chat', append);
    socket.on('whisper', append);

    // Kick buttons, the server's and the script's alike.
    peopleEl.addEventListener('click', function (event) {
        var button = event.target.closest('.kick');
        if (!button) return;
        var id = button.closest('.person').dataset.id;
        var person = people.filter(function (p) { return p.id === id; })[0];
        if (person) kick(person);
    });

    toEl.addEventListener('change', showTarget);

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
                // One whisper at a time: the next message goes to everyone unless chosen again.
                if (to && toEl.value === to) {
                    toEl.value = '';
                    showTarget();
                }
            }
        });
    });

    // Leaving on purpose says goodbye, so the others hear of it at once; a closed page
    // only looks like a reload, and keeps the seat for the grace period.
    exitBtn.addEventListener('click', function (event) {
        if (!socket.connected) return;
        event.preventDefault();
        var gone = false;
        function go() {
            if (gone) return;
            gone = true;
            location.href = exitBtn.href;
        }
        socket.io.engine.once('close', go);
        setTimeout(go, EXIT_WAIT_MS);
        leaving = true;
        socket.disconnect();
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
