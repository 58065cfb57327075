-- Serving an uploaded file looks up the room that shows it (only people let into that room
-- may see it), by the file name a GIF chat keeps as its body.
CREATE INDEX chats_gif_body ON chats (body) WHERE kind = 'gif';
