namespace Airlock.Inspection.Messages;

/// <summary>
/// One thing inspection found, safe to log, store and put in an error message: it names the
/// rule and where the value sits, and carries a keyed hash of the value, never the value.
/// </summary>
/// <param name="RuleId">Rule that matched.</param>
/// <param name="Category">Secret, personal data or organization term.</param>
/// <param name="Confidence">How sure the rule is.</param>
/// <param name="Location">JSON location, e.g. <c>messages[5].content[0].content[1].text</c> or, on output, <c>content[1].text</c>.</param>
/// <param name="Start">UTF-16 offset of the value in the decoded string (on output: in the block's streamed text).</param>
/// <param name="Length">UTF-16 length of the value.</param>
/// <param name="Action">What policy decided.</param>
/// <param name="ValueHash">Full keyed hash (<see cref="Policy.FindingHasher.Hash"/>) of the value.</param>
public sealed record Finding(
    string RuleId,
    FindingCategory Category,
    Confidence Confidence,
    string Location,
    int Start,
    int Length,
    InspectionAction Action,
    string ValueHash);
