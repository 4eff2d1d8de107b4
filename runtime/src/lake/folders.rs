//! Partition folders' names. A data file of a partitioned table lives under
//! `<column>=<value>`, the value escaped as Delta's protocol says ("How to URL
//! Encode Keys and String Values", which delta-rs follows: control
//! characters, space and ``!"#$%&'()*+,/:;<=>?@[\]^`{|}`` become `%XX`, and
//! so does every byte of a non-ASCII character). File systems refuse a name
//! over 255 bytes (ext4, XFS, APFS, NTFS), so a value that long could never be
//! written, on any run: a row carrying one must be turned away before it
//! reaches a writer.

/// The longest file or folder name the common file systems take.
pub const MAX_FOLDER_NAME_BYTES: usize = 255;

/// The bytes Delta escapes besides control characters and non-ASCII ones.
const ESCAPED: &[u8] = b" !\"#$%&'()*+,/:;<=>?@[\\]^`{|}";

/// The length of the folder name of `column = value`.
pub fn partition_folder_len(column: &str, value: &str) -> usize {
    let escaped = |b: u8| !b.is_ascii() || b.is_ascii_control() || ESCAPED.contains(&b);
    column.len() + 1 + value.bytes().map(|b| if escaped(b) { 3 } else { 1 }).sum::<usize>()
}

/// Whether a partition folder of `column = value` can be made.
pub fn partition_folder_fits(column: &str, value: &str) -> bool {
    // A byte escapes to three at most: a short value fits unread (every
    // record's workspace id is checked).
    column.len() + 1 + 3 * value.len() <= MAX_FOLDER_NAME_BYTES
        || partition_folder_len(column, value) <= MAX_FOLDER_NAME_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_measured_escaped() {
        assert_eq!(partition_folder_len("workspace_id", "ws-1"), "workspace_id=ws-1".len());
        assert_eq!(partition_folder_len("workspace_id", "a:b c"), "workspace_id=a%3Ab%20c".len());
        assert_eq!(partition_folder_len("w", "é\u{1}"), "w=%C3%A9%01".len());
        let column = "workspace_id"; // 13 bytes with `=`
        assert!(partition_folder_fits(column, &"x".repeat(242)));
        assert!(!partition_folder_fits(column, &"x".repeat(243)));
        assert!(partition_folder_fits(column, &":".repeat(80)));
        assert!(!partition_folder_fits(column, &":".repeat(81)));
        // Short enough to fit however escaped, and one byte more.
        assert!(partition_folder_fits(column, &"é".repeat(40)));
        assert!(partition_folder_fits(column, &"é".repeat(40).replacen('é', "éx", 1)));
        assert!(!partition_folder_fits(column, &"é".repeat(41)));
    }
}
