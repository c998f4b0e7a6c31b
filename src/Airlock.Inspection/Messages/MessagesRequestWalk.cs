using System.Text;
using System.Text.Json;
using Airlock.Inspection.Policy;

namespace Airlock.Inspection.Messages;

/// <summary>
/// State of one inspection: a forward pass of <see cref="Utf8JsonReader"/> over each top-level member it inspects
/// (<c>messages</c>, <c>system</c>; the others are never read again, see <see cref="RequestBodyLayout"/>), with an
/// explicit frame stack (no recursion, so depth costs memory, not call stack). Each frame
/// knows what its values mean in the Messages schema and the accessor of its current child,
/// which is all a location such as <c>messages[5].content[0].content[1].text</c> needs. Offsets are body-relative.
/// </summary>
internal sealed class MessagesRequestWalk
{
    private readonly MessagesRequestInspector _owner;
    private readonly ReadOnlyMemory<byte> _body;
    private readonly RequestBodyLayout? _layout;
    private readonly string? _team;
    private readonly InspectionPolicy _policy;
    private readonly List<Finding> _findings = [];
    private readonly List<Splice> _splices = [];
    private readonly List<TextMatch> _scratch = [];
    private Frame[] _frames = new Frame[16];
    private int _depth;
    private int _strings;
    private Finding? _blocking;
    private string? _incompleteReason;

    // Offset of the current reader's span in the body (a member's value, or where a resumed walk starts), and for
    // resuming after an inspected prefix (see ConversationPrefixMemo):
    // the checkpoints of this body so far, and the strings with matches (by position) met so far.
    private int _base;
    private readonly List<ConversationPrefixMemo.Checkpoint> _checkpoints = [];
    private readonly List<ConversationPrefixMemo.MatchedString> _matched = [];

    public MessagesRequestWalk(MessagesRequestInspector owner, ReadOnlyMemory<byte> body, string? team, InspectionPolicy policy, RequestBodyLayout? layout)
    {
        _owner = owner;
        _body = body;
        _layout = layout;
        _team = team;
        _policy = policy;
    }

    internal enum Node : byte
    {
        Skip,
        Root,
        System,
        Messages,
        Message,
        Content,
        BlockArray,
        Block,
        Source,
        Any,
    }

    internal enum BlockKind : byte
    {
        Other,
        Thinking,
        RedactedThinking,
        ToolUse,
    }

    public RequestInspection Run()
    {
        var span = _body.Span;
        var layout = _layout ?? RequestBodyLayout.Read(span, _owner.Options.MaxDepth);
        if (layout is null)
        {
            // Not an object: nothing of the Messages schema to inspect.
            return Finish();
        }

        var resume = Resume(span, layout, out var next);
        if (_incompleteReason is not null)
        {
            return Finish();
        }

        // The walk reads each inspected member's value with its own reader, so a member's depth counts from 0 where
        // the whole body's reader counted from 1: one level less keeps the limit where it was.
        int memberDepth = _owner.Options.MaxDepth - 1;
        bool checkSkipped = layout.ValidatedDepth > _owner.Options.MaxDepth;
        try
        {
            if (resume is null)
            {
                Push(Node.Root, isArray: false, signed: false);
            }
            else
            {
                var member = layout.Members[next];
                _base = resume.Offset;
                var reader = new Utf8JsonReader(span[resume.Offset..member.End], isFinalBlock: true, resume.State);
                WalkValue(span, ref reader);
                next++;
            }

            for (; _incompleteReason is null && next < layout.Members.Count; next++)
            {
                var member = layout.Members[next];
                ref var root = ref _frames[0];
                root.NameStart = member.Start + 1;
                root.NameLength = member.NameLength;
                root.NameEscaped = member.NameEscaped;
                root.Child = RequestBodyLayout.NameIs(span, member, "messages"u8) ? Node.Messages
                    : RequestBodyLayout.NameIs(span, member, "system"u8) ? Node.System
                    : Node.Skip;
                var value = span[member.ValueStart..member.End];
                if (root.Child == Node.Skip)
                {
                    if (checkSkipped)
                    {
                        // The caller validated a deeper nesting than this inspector accepts: a whole-body walk would
                        // have refused a member nested too deep even though it skips it.
                        var skipped = MemberReader(value, memberDepth);
                        skipped.Read();
                        skipped.Skip();
                    }

                    continue;
                }

                if (root.Child == Node.System && _owner.PrefixMemo is { } memo && member.End - member.Start >= ConversationPrefixMemo.MinKeyedBytes)
                {
                    WalkRemembered(span, member, memo, memberDepth);
                    continue;
                }

                _base = member.ValueStart;
                var reader = MemberReader(value, memberDepth);
                WalkValue(span, ref reader);
            }

            if (_incompleteReason is null && layout.Truncated)
            {
                throw new JsonException();
            }
        }
        catch (JsonException)
        {
            // The reader's message can quote body bytes: never surface it.
            _incompleteReason = $"request blocked: body is not valid JSON or nests deeper than {_owner.Options.MaxDepth} levels";
        }

        if (_incompleteReason is null && _checkpoints.Count > 0)
        {
            _owner.PrefixMemo?.Store(new ConversationPrefixMemo.Memo([.. _checkpoints], [.. _matched]));
        }

        return Finish();
    }

    /// <summary>
    /// Walks a <c>system</c> member, or replays the walk of identical bytes seen before: Claude Code sends the same
    /// system prompt on every turn, and its strings below the verdict cache's size floor would be scanned again each
    /// time. As for the conversation prefix, the matches are replayed under this call's policy and team, so findings,
    /// placeholders and blocks are exactly those of a walk; a replay that would cross the strings limit walks instead,
    /// to stop at the very string a walk stops at.
    /// </summary>
    private void WalkRemembered(ReadOnlySpan<byte> span, RequestBodyLayout.Member member, ConversationPrefixMemo memo, int memberDepth)
    {
        var bytes = span[member.Start..member.End];
        var key = ConversationPrefixMemo.SegmentHash(bytes);
        if (memo.FindMember(key, bytes.Length) is { } remembered && _strings + remembered.Strings <= _owner.Options.MaxStrings)
        {
            _strings += remembered.Strings;
            foreach (var relative in remembered.Matched)
            {
                if (!Replay(span, relative with { RawStart = member.Start + relative.RawStart }))
                {
                    return;
                }
            }

            return;
        }

        int strings = _strings;
        int matchedFrom = _matched.Count;
        _base = member.ValueStart;
        var reader = MemberReader(span[member.ValueStart..member.End], memberDepth);
        WalkValue(span, ref reader);
        if (_incompleteReason is null)
        {
            var matchedHere = new ConversationPrefixMemo.MatchedString[_matched.Count - matchedFrom];
            for (int i = 0; i < matchedHere.Length; i++)
            {
                var matched = _matched[matchedFrom + i];
                matchedHere[i] = matched with { RawStart = matched.RawStart - member.Start };
            }

            memo.StoreMember(key, new ConversationPrefixMemo.MemberMemo(bytes.Length, _strings - strings, matchedHere));
        }
    }

    /// <summary>A reader over one member's value that refuses what a whole-body reader would have refused.</summary>
    private static Utf8JsonReader MemberReader(ReadOnlySpan<byte> value, int maxDepth)
    {
        if (maxDepth == 0)
        {
            // MaxDepth 0 means the default (64) to the reader: with a limit of 1 for the body, no member may nest at all.
            if (value[0] is (byte)'{' or (byte)'[')
            {
                throw new JsonException();
            }

            maxDepth = 1;
        }

        return new Utf8JsonReader(value, new JsonReaderOptions { MaxDepth = maxDepth });
    }

    /// <summary>Walks the rest of one member's value (the reader stands before its next token).</summary>
    private void WalkValue(ReadOnlySpan<byte> span, ref Utf8JsonReader reader)
    {
        while (_incompleteReason is null && reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    OnPropertyName(ref reader);
                    break;
                case JsonTokenType.StartObject:
                case JsonTokenType.StartArray:
                    OnContainerStart(ref reader);
                    break;
                case JsonTokenType.EndObject:
                case JsonTokenType.EndArray:
                    _depth--;
                    if (_depth == 2 && _frames[1].Node == Node.Messages)
                    {
                        Checkpoint(span, ref reader);
                    }

                    break;
                case JsonTokenType.String:
                    // Any string in conversation content is scanned, including ones where the schema
                    // expects an object (a search_result's "source" URL, a malformed block): scanning more is the safe side.
                    if (NextValueNode() != Node.Skip)
                    {
                        ScanString(ref reader, isKey: false);
                    }

                    break;
                default:
                    NextValueNode();
                    break;
            }
        }
    }

    /// <summary>
    /// Finds the last checkpoint of a remembered conversation that this body reaches with identical bytes, replays
    /// the matches before it under this call's policy and team, and restores the walk's state there. Null: walk the
    /// whole body. <paramref name="member"/> is the index of the member (<c>messages</c>) the checkpoint lies in.
    /// </summary>
    private ConversationPrefixMemo.Checkpoint? Resume(ReadOnlySpan<byte> span, RequestBodyLayout layout, out int member)
    {
        member = 0;
        var memo = _owner.PrefixMemo?.Find(span);
        if (memo is null)
        {
            return null;
        }

        ConversationPrefixMemo.Checkpoint? best = null;
        int from = 0;
        foreach (var checkpoint in memo.Checkpoints)
        {
            if (checkpoint.Offset > span.Length || ConversationPrefixMemo.SegmentHash(span[from..checkpoint.Offset]) != checkpoint.SegmentHash)
            {
                break;
            }

            best = checkpoint;
            _checkpoints.Add(checkpoint);
            from = checkpoint.Offset;
        }

        // The prefix is byte for byte one already walked, so its members lie where they lay: a layout that does not
        // agree was taken from other bytes, and the walk starts over rather than trust either.
        member = best is null ? -1 : layout.IndexHolding(best.Offset);
        if (best is null || member < 0)
        {
            _checkpoints.Clear();
            member = 0;
            return null;
        }

        for (int i = 0; i < best.MatchedCount; i++)
        {
            if (!Replay(span, memo.Matched[i]))
            {
                return null;
            }
        }

        _strings = best.Strings;
        _depth = best.Frames.Length;
        best.Frames.CopyTo(_frames, 0);
        return best;
    }

    /// <summary>
    /// Acts on a remembered string with matches (at its position in this body) under this call's policy and team, as a
    /// walk meeting it would. False when that ended the inspection (a block, or a limit).
    /// </summary>
    private bool Replay(ReadOnlySpan<byte> span, ConversationPrefixMemo.MatchedString matched)
    {
        _matched.Add(matched);
        var raw = span.Slice(matched.RawStart, matched.RawLength);
        var quoted = new Utf8JsonReader(span.Slice(matched.RawStart - 1, matched.RawLength + 2));
        quoted.Read();
        OnMatches(quoted.GetString()!, raw, matched.RawStart, matched.Matches, matched.Signed, matched.Location);
        return _incompleteReason is null;
    }

    /// <summary>Records the walk's state between two elements of <c>messages</c> (at most one per
    /// <see cref="ConversationPrefixMemo.MinCheckpointGap"/> bytes, and after the first element that ends
    /// <see cref="ConversationPrefixMemo.MinKeyedBytes"/> bytes or more into the body).</summary>
    private void Checkpoint(ReadOnlySpan<byte> span, ref Utf8JsonReader reader)
    {
        if (_owner.PrefixMemo is null || _incompleteReason is not null)
        {
            return;
        }

        int offset = checked(_base + (int)reader.BytesConsumed);
        if (offset < ConversationPrefixMemo.MinKeyedBytes)
        {
            // The first segment is keyed on its hash: too short a segment would be a weak key (see MinKeyedBytes).
            return;
        }

        int previous = _checkpoints.Count == 0 ? 0 : _checkpoints[^1].Offset;
        if (_checkpoints.Count > 0 && offset - previous < ConversationPrefixMemo.MinCheckpointGap)
        {
            return;
        }

        _checkpoints.Add(new ConversationPrefixMemo.Checkpoint(
            offset, ConversationPrefixMemo.SegmentHash(span[previous..offset]), reader.CurrentState, _frames[.._depth], _strings, _matched.Count));
    }

    private void OnPropertyName(ref Utf8JsonReader reader)
    {
        ref var frame = ref _frames[_depth - 1];
        frame.NameStart = checked(_base + (int)reader.TokenStartIndex + 1);
        frame.NameLength = reader.HasValueSequence ? 0 : reader.ValueSpan.Length;
        frame.NameEscaped = reader.ValueIsEscaped;
        frame.Child = Classify(ref frame, ref reader);
        if (frame.Node == Node.Any && !frame.IsArray)
        {
            // Keys of free-form objects (tool_use.input at any depth) are data too: {"AKIA…": 1} or a map keyed by
            // tokens would otherwise be forwarded as written. They are scanned and acted on like values.
            ScanString(ref reader, isKey: true);
        }
    }

    private Node Classify(ref Frame frame, ref Utf8JsonReader reader)
    {
        switch (frame.Node)
        {
            case Node.Message:
                return reader.ValueTextEquals("content"u8) ? Node.Content : Node.Skip;
            case Node.Block:
                if (frame.Block == BlockKind.RedactedThinking
                    || reader.ValueTextEquals("type"u8)
                    || reader.ValueTextEquals("id"u8)
                    || reader.ValueTextEquals("tool_use_id"u8)
                    || reader.ValueTextEquals("signature"u8)
                    || reader.ValueTextEquals("cache_control"u8)
                    || (frame.Block == BlockKind.ToolUse && reader.ValueTextEquals("name"u8)))
                {
                    return Node.Skip;
                }

                return reader.ValueTextEquals("content"u8) ? Node.Content
                    : reader.ValueTextEquals("source"u8) ? Node.Source
                    : Node.Any;
            case Node.Source:
                if (reader.ValueTextEquals("type"u8) || reader.ValueTextEquals("media_type"u8))
                {
                    return Node.Skip;
                }

                if (reader.ValueTextEquals("data"u8))
                {
                    return frame.Base64Source && !_owner.Options.IncludeBase64Media ? Node.Skip : Node.Any;
                }

                return reader.ValueTextEquals("content"u8) ? Node.Content : Node.Any;
            case Node.Any:
                return Node.Any;
            default:
                return Node.Skip;
        }
    }

    private Node NextValueNode()
    {
        ref var frame = ref _frames[_depth - 1];
        if (!frame.IsArray)
        {
            return frame.Child;
        }

        frame.Index++;
        return frame.Node switch
        {
            Node.Messages => Node.Message,
            Node.BlockArray => Node.Block,
            Node.Any => Node.Any,
            _ => Node.Skip,
        };
    }

    private void OnContainerStart(ref Utf8JsonReader reader)
    {
        var node = NextValueNode();
        if (node == Node.Skip)
        {
            reader.Skip();
            return;
        }

        bool signed = _frames[_depth - 1].Signed;
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            Push(node is Node.System or Node.Content ? Node.BlockArray : node == Node.Messages ? Node.Messages : Node.Any, isArray: true, signed);
            return;
        }

        // Objects where the schema wants a string or an array are malformed; scan them whole rather than skip.
        var objectNode = node is Node.Message or Node.Block or Node.Source ? node : Node.Any;
        ref var frame = ref Push(objectNode, isArray: false, signed);
        if (objectNode == Node.Block)
        {
            frame.Block = PeekBlockKind(reader);
            if (frame.Block == BlockKind.Thinking)
            {
                frame.Signed = true;
            }
        }
        else if (objectNode == Node.Source)
        {
            frame.Base64Source = PeekTypeIs(reader, "base64"u8);
        }
    }

    private static BlockKind PeekBlockKind(Utf8JsonReader reader)
    {
        if (!FindType(ref reader))
        {
            return BlockKind.Other;
        }

        if (reader.ValueTextEquals("thinking"u8))
        {
            return BlockKind.Thinking;
        }

        if (reader.ValueTextEquals("redacted_thinking"u8))
        {
            return BlockKind.RedactedThinking;
        }

        return reader.ValueTextEquals("tool_use"u8) || reader.ValueTextEquals("server_tool_use"u8) || reader.ValueTextEquals("mcp_tool_use"u8)
            ? BlockKind.ToolUse
            : BlockKind.Other;
    }

    private static bool PeekTypeIs(Utf8JsonReader reader, ReadOnlySpan<byte> type)
    {
        return FindType(ref reader) && reader.ValueTextEquals(type);
    }

    // Looks ahead (on a copy of the reader) for this object's "type" string: JSON objects are
    // unordered, and the block type decides how the fields before it are treated. Claude Code
    // writes "type" first, so this normally reads two tokens.
    private static bool FindType(ref Utf8JsonReader reader)
    {
        int depth = reader.CurrentDepth;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth)
            {
                return false;
            }

            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            bool isType = reader.ValueTextEquals("type"u8);
            if (!reader.Read())
            {
                return false;
            }

            if (isType && reader.TokenType == JsonTokenType.String)
            {
                return true;
            }

            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }
        }

        return false;
    }

    private ref Frame Push(Node node, bool isArray, bool signed)
    {
        if (_depth == _frames.Length)
        {
            Array.Resize(ref _frames, _frames.Length * 2);
        }

        ref var frame = ref _frames[_depth++];
        frame = new Frame { Node = node, IsArray = isArray, Signed = signed, Index = -1 };
        return ref frame;
    }

    private void ScanString(ref Utf8JsonReader reader, bool isKey)
    {
        if (++_strings > _owner.Options.MaxStrings)
        {
            _incompleteReason = $"request blocked: more than {_owner.Options.MaxStrings} strings to inspect";
            return;
        }

        var raw = reader.ValueSpan;
        int rawStart = checked(_base + (int)reader.TokenStartIndex + 1);
        string? text = null;
        TextMatch[] matches;
        if (raw.Length >= _owner.Options.CacheMinBytes)
        {
            var key = VerdictCache.KeyOf(raw);
            if (!_owner.Cache.TryGet(key, out matches))
            {
                if (!TryDecode(ref reader, isKey, out text))
                {
                    return;
                }

                matches = ScanText(text);
                _owner.Cache.Set(key, matches);
            }
        }
        else
        {
            if (!TryDecode(ref reader, isKey, out text))
            {
                return;
            }

            matches = ScanText(text);
        }

        if (matches.Length == 0)
        {
            return;
        }

        if (text is null && !TryDecode(ref reader, isKey, out text))
        {
            return;
        }

        var location = isKey ? KeyLocation() : BuildLocation();
        var signed = _frames[_depth - 1].Signed;
        _matched.Add(new ConversationPrefixMemo.MatchedString(rawStart, raw.Length, matches, location, signed));
        OnMatches(text, raw, rawStart, matches, signed, location);
    }

    // Only the decoding is guarded here: an exception from a scanner is an inspection failure for the caller
    // (inspection.on_error), not an undecodable string.
    private bool TryDecode(ref Utf8JsonReader reader, bool isKey, out string text)
    {
        try
        {
            text = reader.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            // GetString rejects invalid UTF-8 and lone surrogate escapes: refuse rather than guess.
            _incompleteReason = $"request blocked: string at {(isKey ? KeyLocation() : BuildLocation())} is not valid UTF-8 text";
            text = string.Empty;
            return false;
        }
    }

    // A flagged key is never echoed: the finding names the object holding it.
    private string KeyLocation() => BuildLocation(_depth - 1) + ".<key>";

    private TextMatch[] ScanText(string text)
    {
        _scratch.Clear();
        _owner.Scanner.Scan(text, _scratch);
        if (_scratch.Count == 0)
        {
            return [];
        }

        // A scanner bug must not turn into an exception or a wrong splice: drop impossible spans.
        _scratch.RemoveAll(m => m.Start < 0 || m.Length <= 0 || m.Start > text.Length - m.Length);
        // Stable: scanners already order by start (CompositeScanner: then longest, then rule id), and that tie-break
        // decides the rule named in a merged redaction; a stable sort only repairs a scanner that broke the order.
        return [.. _scratch.OrderBy(static m => m.Start)];
    }

    private void OnMatches(string text, ReadOnlySpan<byte> raw, int rawStart, TextMatch[] matches, bool signed, string location)
    {
        List<(int Start, int End, string RuleId)>? redactions = null;
        foreach (var match in matches)
        {
            var action = _policy.Resolve(match, _team);
            if (signed && action == InspectionAction.Redact)
            {
                // Thinking blocks are signed by the provider: changing a byte breaks the signature.
                action = InspectionAction.Block;
            }

            var finding = new Finding(
                match.RuleId,
                match.Category,
                match.Confidence,
                location,
                match.Start,
                match.Length,
                action,
                _owner.Hasher.Hash(text.AsSpan(match.Start, match.Length)));
            _findings.Add(finding);
            if (action == InspectionAction.Block)
            {
                _blocking ??= finding;
            }
            else if (action == InspectionAction.Redact)
            {
                (redactions ??= []).Add((match.Start, match.Start + match.Length, match.RuleId));
            }
        }

        if (redactions is not null)
        {
            AddSplices(text, raw, rawStart, redactions, location);
        }
    }

    private void AddSplices(string text, ReadOnlySpan<byte> raw, int rawStart, List<(int Start, int End, string RuleId)> redactions, string location)
    {
        var offsets = JsonStringOffsets.Build(raw, text.Length);
        if (offsets is null)
        {
            _incompleteReason = $"request blocked: string at {location} could not be mapped for redaction";
            return;
        }

        // Overlapping matches become one redaction named after the first rule; ranges are then
        // widened to whole raw elements, which can make neighbours touch, so merge again in raw space.
        var merged = new List<(int Start, int End, string RuleId, int RawStart, int RawEnd)>();
        foreach (var (start, end, ruleId) in redactions)
        {
            var (rs, re) = offsets.ToRaw(start, end - start);
            if (merged.Count > 0)
            {
                var last = merged[^1];
                if (start < last.End || rs < last.RawEnd)
                {
                    merged[^1] = (last.Start, Math.Max(last.End, end), last.RuleId, last.RawStart, Math.Max(last.RawEnd, re));
                    continue;
                }
            }

            merged.Add((start, end, ruleId, rs, re));
        }

        foreach (var (start, end, ruleId, rs, re) in merged)
        {
            string placeholder = RedactionPlaceholder.Format(ruleId, _owner.Hasher.ShortHash(text.AsSpan(start, end - start)));
            _splices.Add(new Splice(rawStart + rs, rawStart + re, RedactionPlaceholder.ToJsonBytes(placeholder)));
        }
    }

    private string BuildLocation() => BuildLocation(_depth);

    /// <summary>The location of the current value, using the first <paramref name="frames"/> frames (fewer: a parent).</summary>
    private string BuildLocation(int frames)
    {
        var span = _body.Span;
        var sb = new StringBuilder(64);
        for (int i = 0; i < frames; i++)
        {
            ref var frame = ref _frames[i];
            if (frame.IsArray)
            {
                sb.Append('[').Append(frame.Index).Append(']');
                continue;
            }

            string? name = PlainName(span, ref frame);
            if (name is not null)
            {
                if (sb.Length > 0)
                {
                    sb.Append('.');
                }

                sb.Append(name);
            }
            else
            {
                // Keys inside tool inputs are arbitrary data: only plain identifiers are echoed.
                sb.Append("[*]");
            }
        }

        return sb.ToString();
    }

    // The key as written by a plain identifier, or null. Escaped keys ("descr\u0069ption") are
    // decoded first by re-reading the quoted token, which includes its quotes.
    private string? PlainName(ReadOnlySpan<byte> body, ref Frame frame)
    {
        string name;
        if (frame.NameEscaped)
        {
            var reader = new Utf8JsonReader(body.Slice(frame.NameStart - 1, frame.NameLength + 2));
            try
            {
                name = reader.Read() ? reader.GetString() ?? "" : "";
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                return null;
            }
        }
        else
        {
            name = Encoding.UTF8.GetString(body.Slice(frame.NameStart, frame.NameLength));
        }

        if (name.Length is 0 or > 64)
        {
            return null;
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '$'))
            {
                return null;
            }
        }

        // A plain-looking key can still be a secret ({"AKIA…": 1}); locations reach error messages and audit
        // rows, so a key the scanner flags is never echoed.
        var matches = new List<TextMatch>();
        _owner.Scanner.Scan(name, matches);
        return matches.Count == 0 ? name : null;
    }

    private RequestInspection Finish()
    {
        if (_incompleteReason is not null)
        {
            return new RequestInspection(_findings, blocked: true, _blocking, _incompleteReason, _body, modified: false, incomplete: true);
        }

        if (_blocking is not null)
        {
            string reason = $"request blocked: rule {_blocking.RuleId} at {_blocking.Location}";
            return new RequestInspection(_findings, blocked: true, _blocking, reason, _body, modified: false, incomplete: false);
        }

        if (_splices.Count == 0)
        {
            return new RequestInspection(_findings, blocked: false, null, null, _body, modified: false, incomplete: false);
        }

        return new RequestInspection(_findings, blocked: false, null, null, ApplySplices(), modified: true, incomplete: false);
    }

    private byte[] ApplySplices()
    {
        var source = _body.Span;
        long length = source.Length;
        foreach (var splice in _splices)
        {
            length += splice.Replacement.Length - (splice.End - splice.Start);
        }

        var output = new byte[length];
        int read = 0;
        int written = 0;
        foreach (var splice in _splices)
        {
            source[read..splice.Start].CopyTo(output.AsSpan(written));
            written += splice.Start - read;
            splice.Replacement.CopyTo(output.AsSpan(written));
            written += splice.Replacement.Length;
            read = splice.End;
        }

        source[read..].CopyTo(output.AsSpan(written));
        return output;
    }

    private readonly record struct Splice(int Start, int End, byte[] Replacement);

    /// <summary>What the walk knows about one open object or array (copied into checkpoints).</summary>
    internal struct Frame
    {
        public Node Node;
        public bool IsArray;
        public bool Signed;
        public bool Base64Source;
        public bool NameEscaped;
        public BlockKind Block;
        public Node Child;
        public int Index;
        public int NameStart;
        public int NameLength;
    }
}
